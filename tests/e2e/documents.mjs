// One outgoing document from upload to dispatch in a real browser (Debian's chromium, driven
// by playwright-core), every person in their own browser: the drafter uploads, the unit head
// returns the draft with a reason, the corrected draft goes on to the format check, the Deputy
// Director approves, a tampered signed file is refused, he signs with his token through his
// `kyso agent`, the clerk checks, numbers, signs for the Department with the organization token
// through her agent, registers and dispatches, and downloads the issued file.
// Started by crates/kyso/tests/cli/e2e_documents.rs, which starts the server and the agents
// and types each PIN at the agent's terminal.
//
// Environment: KYSO_URL, KYSO_PASSWORD (every account's), KYSO_DRAFT_FILE, KYSO_DRAFT2_FILE,
// KYSO_SIGNER_AGENT / KYSO_CLERK_AGENT (the agents' 127.0.0.1:PORT), KYSO_WORK (a directory),
// KYSO_ISSUED_FILE (where the issued PDF is saved), KYSO_PIN_SCREENSHOT_DONE (written once the
// page waiting for the signer's PIN is saved; the test's official types the PIN then), KYSO_BIN, KYSO_PKCS11_MODULE,
// KYSO_SIGNER_TOKEN, KYSO_SIGNER_SOFTHSM2_CONF, KYSO_TEST_PIN (the tampered file is signed on the
// signer's token with `kyso sign`), KYSO_SCREENSHOTS, CHROMIUM.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  env, check, openStory, selectByText, allLabelled, docState as state, landed,
  takeStep as step, openFromQueue as fromQueue, metaRow as row, saveLatest as save,
  reviewToApproval, signPersonally, clerkIssues,
} from './lib.mjs';

const work = env('KYSO_WORK');
const SUBJECT = 'Triển khai ký số văn bản đi trên hệ thống kyso';
const { base, shot, browser, person, passed } = await openStory();

/// The document from the person's "Chờ tôi xử lý" queue.
const openFromQueue = (page, who) => fromQueue(page, base, SUBJECT, who);

/// Save the latest version of the document to `path`.
const saveLatest = (page, path) => save(page, base, path);

try {
  const drafter = await person('le.hoang.cuong');
  const reviewer = await person('truong.phong.vp');
  const checker = await person('the.thuc.vp');
  const signer = await person('nguyen.van.an');
  const clerk = await person('tran.thi.binh');

  // 1. The drafter uploads the draft with its Decree 30 data and submits it.
  await drafter.goto(`${base}/documents/new`);
  check(await allLabelled(drafter), 'the upload form is labelled');
  await selectByText(drafter, '#agency_id', 'Sở Khoa học và Công nghệ');
  await drafter.selectOption('#doc_type', 'cong_van');
  await drafter.fill('#subject', SUBJECT);
  await drafter.fill('#place', 'Demo');
  await drafter.fill('#unit_abbrev', 'VP');
  await drafter.selectOption('#authority', 'kt');
  await drafter.fill('#principal_title', 'Giám đốc');
  await drafter.fill('#signer_title', 'Phó Giám đốc');
  if ((await drafter.locator('select#signer_id').count()) > 0) {
    // The signer is chosen among the agency's people with signing authority.
    await selectByText(drafter, '#signer_id', 'Nguyễn Văn An');
  } else {
    await drafter.fill('#signer_name', 'Nguyễn Văn An');
  }
  await drafter.fill('#recipients', 'H99.05');
  await drafter.fill('#page_count', '1');
  await drafter.setInputFiles('#file', env('KYSO_DRAFT_FILE'));
  await Promise.all([drafter.waitForNavigation(), drafter.click('main form[enctype="multipart/form-data"] button[type=submit]')]);
  await landed(drafter, 'created', 'Dự thảo', 'the upload');
  const docPath = new URL(drafter.url()).pathname;
  check(/^\/documents\/\d+$/.test(docPath), `the document has its page (${docPath})`);
  await shot(drafter, 'dt-01-tai-len-du-thao');
  await step(drafter, 'submit', 'Chờ lãnh đạo đơn vị xem xét', 'the submission');

  // 2. The unit head returns it with a reason.
  await openFromQueue(reviewer, 'the unit head');
  const reason = 'Bổ sung thời gian, địa điểm buổi hướng dẫn và thành phần tham dự.';
  await reviewer.fill('#reason-return', reason);
  await Promise.all([reviewer.waitForNavigation(),
    reviewer.click('main form:has(input[name=action][value=return]) button[type=submit]')]);
  await landed(reviewer, 'return', 'Bị trả lại', 'the return at review');
  check((await reviewer.textContent('main')).includes(reason), 'the reason is on the document page');
  await shot(reviewer, 'dt-02-tra-lai');

  // 3. The drafter sees the reason, uploads the corrected draft and submits again.
  await openFromQueue(drafter, 'the drafter (returned)');
  check((await drafter.textContent('main')).includes(reason), 'the drafter reads the reason');
  await drafter.setInputFiles('#draft-file', env('KYSO_DRAFT2_FILE'));
  await Promise.all([drafter.waitForNavigation(),
    drafter.click('main form:has(#draft-file) button[type=submit]')]);
  await landed(drafter, 'draft', 'Bị trả lại', 'the corrected draft');
  await step(drafter, 'submit', 'Chờ lãnh đạo đơn vị xem xét', 'the new submission');

  // 4. The unit head forwards it, the format check places the number and date fields, the
  //    signer approves.
  await reviewToApproval(base, SUBJECT, { reviewer, checker, signer }, {
    checked: (page) => shot(page, 'dt-03-kiem-tra-the-thuc'),
    approved: (page) => shot(page, 'dt-04-da-duyet-cho-ky'),
  });

  // 5. A tampered file: signed on the signer's own token outside the agent, then one byte of
  //    the signed content changed. The server refuses it and the document stays where it was.
  const toSign = await saveLatest(signer, `${work}/ban-can-ky.pdf`);
  const signedOutside = `${work}/da-ky-ngoai.pdf`;
  execFileSync(env('KYSO_BIN'), ['sign', toSign, '-o', signedOutside, '--invisible',
    '--pkcs11-module', env('KYSO_PKCS11_MODULE'), '--token', env('KYSO_SIGNER_TOKEN'),
    '--pin-env', 'KYSO_TEST_PIN'],
    { env: { ...process.env, SOFTHSM2_CONF: env('KYSO_SIGNER_SOFTHSM2_CONF') }, stdio: ['ignore', 'pipe', 'pipe'] });
  const bytes = readFileSync(signedOutside);
  // One character of the new signature's signing time (/M, in the signed byte range of the
  // revision the signature added): the file still reads and begins with the version handed
  // out, but what was signed is no longer what the signature covers.
  const original = readFileSync(toSign).length;
  const at = bytes.indexOf('/M (D:', original) >= 0 ? bytes.indexOf('/M (D:', original) + 6
    : bytes.indexOf('/M(D:', original) >= 0 ? bytes.indexOf('/M(D:', original) + 5 : -1;
  if (at < 0) throw new Error('no signing time in the signature the token made');
  check(bytes[at] === 0x32, 'the signing time starts with its year');
  bytes[at] = 0x31; // 2026 → 1026
  const tampered = `${work}/da-ky-bi-sua.pdf`;
  writeFileSync(tampered, bytes);
  await signer.setInputFiles('#signed-sign_personal', tampered);
  await Promise.all([signer.waitForNavigation(),
    signer.click('main form:has(#signed-sign_personal) button[type=submit]')]);
  const refusal = (await signer.locator('main [role=alert]').first().textContent()).trim();
  check(refusal.includes('Chữ ký số mới không hợp lệ') && refusal.includes('DIGEST_MISMATCH'),
    `the tampered file is refused, its signature found broken: "${refusal}"`);
  console.log(`tampered: ${refusal}`);
  await shot(signer, 'dt-05-tep-bi-sua-bi-tu-choi');
  await signer.goto(`${base}${docPath}`);
  check((await state(signer)) === 'Đã duyệt, chờ ký', 'the document still awaits the signature');

  // 6. The personal signature through the signer's agent and token.
  await signer.goto(`${base}${docPath}`);
  // The page says to type the PIN at the signing service: its screenshot, then the test's
  // official (who reads the request at the agent until it is taken) types the PIN.
  await signPersonally(signer, env('KYSO_SIGNER_AGENT'), 'the personal signature', async (page) => {
    await page.waitForFunction((id) => (document.getElementById(id)?.textContent ?? '').includes('mã PIN'),
      'sign-status-sign_personal', { timeout: 30_000 });
    check(true, 'the personal signature: the page says to type the PIN at the signing service');
    await shot(page, 'dt-06-cho-nhap-ma-pin');
    writeFileSync(env('KYSO_PIN_SCREENSHOT_DONE'), '');
  });
  await shot(signer, 'dt-07-ky-ca-nhan');

  // 7. The clerk: check, number and date, the organization signature through her agent and
  //    the Department's token, registration, dispatch.
  await openFromQueue(clerk, 'the clerk');
  const { number } = await clerkIssues(clerk, env('KYSO_CLERK_AGENT'), {
    numbered: async (n) => {
      check(/^\d+\/[^ ]+$/.test(n), `the page shows the number and notation (${n})`);
      await shot(clerk, 'dt-08-cap-so');
    },
    sealed: () => shot(clerk, 'dt-09-ky-so-co-quan'),
  });
  const shownNumber = await row(clerk, 'Số, ký hiệu');
  const shownDate = await row(clerk, 'Ngày ban hành');
  check(shownNumber === number, `the issued document keeps its number (${shownNumber})`);
  check(/^\d{2}\/\d{2}\/\d{4}$/.test(shownDate), `the page shows the date as dd/mm/yyyy (${shownDate})`);
  const versions = await clerk.content();
  check(versions.includes('-ky-ca-nhan.pdf') && versions.includes('-ban-hanh.pdf'),
    'the signed versions are named by their step (…-ky-ca-nhan.pdf, …-ban-hanh.pdf)');
  await shot(clerk, 'dt-10-phat-hanh');
  await saveLatest(clerk, env('KYSO_ISSUED_FILE'));
  console.log(`issued: ${JSON.stringify({ number: shownNumber, date: shownDate })}`);
} finally {
  await browser.close();
}
passed('documents');
