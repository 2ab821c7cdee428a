// The archive (issue 19 items 2 and 6) in a real browser (Debian's chromium, driven by
// playwright-core): the Department of Finance's clerk finds a registered letter in "Lưu trữ"
// by words of its subject typed without accents, opens it (its files, its text state), opens a
// dossier in the year's list, files the letter into it, closes the dossier after the
// confirmation page, and downloads the dossier's hand-over package. Each action ends on its
// success message; every page is checked with axe-core, keyboard-labelled, and fits 390 px.
// Started by crates/kyso/tests/cli/e2e_archive.rs, which registers the letter through the API
// and checks the package with `kyso archive verify`.
//
// Environment: KYSO_URL, KYSO_PASSWORD, KYSO_CLERK, KYSO_SUBJECT_WORDS (typed without accents),
// KYSO_NOTATION (expected in the results), KYSO_PACKAGE_OUT, KYSO_SCREENSHOTS, CHROMIUM.

import { env, check, allLabelled, openStory, done, fitsWidth, overflowing } from './lib.mjs';

const { base, shot, person, browser, passed } = await openStory();
const notation = env('KYSO_NOTATION');
const page = await person(env('KYSO_CLERK'));

// The menu leads to the archive; the search by words without accents finds the letter.
await Promise.all([page.waitForURL(`${base}/archive`), page.click('header nav a[href="/archive"]')]);
check((await page.textContent('h1')).includes('Tra cứu văn bản lưu trữ'), 'the archive page, in Vietnamese');
check(await allLabelled(page), 'every search field has a label');
await page.fill('#q', env('KYSO_SUBJECT_WORDS'));
await Promise.all([page.waitForNavigation(), page.press('#q', 'Enter')]);
let text = await page.innerText('main');
check(text.includes(notation), `the search without accents finds ${notation}`);
await shot(page, 'luu-tru-01-tim-kiem');

// The letter's page: what it is, its files, its text.
await Promise.all([page.waitForNavigation(), page.click(`main table a:has-text("${notation}")`)]);
text = await page.innerText('main');
check(text.includes('Các tệp được lưu') && text.includes('bản lưu'), 'the entry lists its files, the filed copy marked');
check(text.includes('Đã đánh chỉ mục nội dung'), 'its text layer is indexed');
const entryUrl = page.url();
await shot(page, 'luu-tru-02-van-ban');

// A dossier opened in the year's list.
await page.goto(`${base}/archive/dossiers`);
check(await allLabelled(page), 'the dossier form is labelled');
await page.fill('#code', '05.TC');
await page.fill('#title', 'Hồ sơ chữ ký số và chứng thư số năm 2026');
await page.selectOption('#retention', '20');
await Promise.all([page.waitForNavigation(), page.click('main form[method=post][action="/archive/dossiers"] button[type=submit]')]);
await done(page, 'dossier_opened', 'opening the dossier');
const dossierUrl = page.url().split('?')[0];
await shot(page, 'luu-tru-03-ho-so-moi');

// The letter filed into it.
await page.goto(entryUrl);
const option = await page.$eval('#dossier_id', (s) => [...s.options].find((o) => o.text.startsWith('05.TC')).value);
await page.selectOption('#dossier_id', option);
await Promise.all([page.waitForNavigation(), page.click('main form[action$="/dossier"] button[type=submit]')]);
await done(page, 'filed_into', 'filing the letter into the dossier');
check((await page.innerText('main')).includes('05.TC'), 'the letter shows its dossier');

// Closed after the confirmation page.
await page.goto(dossierUrl);
check((await page.innerText('main')).includes(notation), 'the dossier lists the letter');
await Promise.all([page.waitForNavigation(), page.click('main button.danger')]);
check((await page.innerText('main')).includes('Kết thúc hồ sơ này?'), 'closing asks for a confirmation first');
await shot(page, 'luu-tru-04-xac-nhan');
await Promise.all([page.waitForNavigation(), page.click('main button.danger')]);
await done(page, 'dossier_closed', 'closing the dossier');

// The hand-over package downloaded.
const [download] = await Promise.all([page.waitForEvent('download'), page.click(`main a[href$="/package.zip"]`)]);
await download.saveAs(env('KYSO_PACKAGE_OUT'));
check(download.suggestedFilename().endsWith('.zip'), `the package downloads (${download.suggestedFilename()})`);
await shot(page, 'luu-tru-05-nop-luu');

// A phone's width.
await page.setViewportSize({ width: 390, height: 844 });
for (const url of [`${base}/archive?q=${encodeURIComponent(env('KYSO_SUBJECT_WORDS'))}`, dossierUrl, entryUrl]) {
  await page.goto(url);
  check(await fitsWidth(page), `${new URL(url).pathname} fits 390 px ${JSON.stringify(await overflowing(page))}`);
}
await shot(page, 'luu-tru-06-dien-thoai');

await browser.close();
passed('archive');
