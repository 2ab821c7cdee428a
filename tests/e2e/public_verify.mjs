// Verification for anyone (issue 18 item 6) in a real browser (Debian's chromium, driven by
// playwright-core): from the login page, without logging in, a visitor opens "Kiểm tra văn bản
// có chữ ký số", uploads a PDF signed by pyHanko and reads the report (the signer's name, the
// role, intact, the ETSI indication), then uploads a copy changed after signing and reads that
// it is not valid, with the reason. Also at 390 px wide, and in English on request.
// Started by crates/kyso/tests/cli/e2e_public_verify.rs, which starts the server and signs the
// file with pyHanko.
//
// Environment: KYSO_URL, KYSO_SIGNED_FILE, KYSO_TAMPERED_FILE, KYSO_SIGNER (the signer's name),
// KYSO_SCREENSHOTS, CHROMIUM.

import { env, check, allLabelled, openStory } from './lib.mjs';

const signed = env('KYSO_SIGNED_FILE');
const tampered = env('KYSO_TAMPERED_FILE');
const signer = env('KYSO_SIGNER');
const { base, shot, browser, passed } = await openStory();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
const page = await context.newPage();

// The login page links to the public check.
await page.goto(`${base}/login`);
await Promise.all([page.waitForURL(`${base}/kiem-tra`), page.click('a[href="/kiem-tra"]')]);
check((await page.textContent('h1')).includes('Kiểm tra văn bản điện tử có chữ ký số'),
  'the login page leads to the public check page, in Vietnamese');
check(await allLabelled(page), 'the upload field has a label');
await shot(page, 'kiem-tra-01-trang');

/// Upload `file` with the keyboard-reachable form; the page's main text.
async function upload(file) {
  await page.setInputFiles('#file', file);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  return (await page.innerText('main')).replace(/\s+/g, ' ');
}

let text = await upload(signed);
check(text.includes(`Chữ ký số cá nhân 1: ${signer}`), `the report names the signer (${signer}) and the role`);
check(!text.includes('CN='), 'no distinguished name is shown');
check(text.includes('Toàn vẹn nguyên vẹn'), 'the pyHanko-signed file is intact');
check(/Chỉ dấu ETSI \(EN 319 102-1\) (TOTAL_PASSED|INDETERMINATE)/.test(text),
  'the ETSI indication is shown (passed, or indeterminate with its reason offline)');
check(!text.includes('KHÔNG HỢP LỆ'), 'the signed file is not accused of anything');
check(text.includes('không được lưu lại trên máy chủ'), 'the page says nothing was kept');
await shot(page, 'kiem-tra-02-hop-le');

text = await upload(tampered);
check(text.includes('Kết luận: KHÔNG HỢP LỆ'), 'the tampered copy is not valid');
check(text.includes('KHÔNG nguyên vẹn'), 'the reason: it is not intact');
check(text.includes('TOTAL_FAILED / HASH_FAILURE'), 'ETSI: TOTAL_FAILED / HASH_FAILURE');
await shot(page, 'kiem-tra-03-bi-sua');

// A phone's width: the report scrolls inside its own region, the page does not overflow.
await page.setViewportSize({ width: 390, height: 844 });
const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
check(!overflow, 'the report fits 390 px without sideways scrolling of the page');
await shot(page, 'kiem-tra-04-dien-thoai');

// English on request.
await page.setViewportSize({ width: 1280, height: 900 });
await page.goto(`${base}/kiem-tra`);
await Promise.all([page.waitForURL(`${base}/kiem-tra`), page.click('header a[lang=en]')]);
check((await page.textContent('h1')).includes('Check a digitally signed document'), 'English on request');
text = await upload(tampered);
check(text.includes('Verdict: INVALID') && text.includes('NOT intact'), 'the report in English');

await browser.close();
passed('public verify');
