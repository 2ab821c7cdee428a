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
  env, check, screenshots, selectByText, allLabelled, launch, signIn, signWithAgent,
  docState as state, landed, takeStep as step, openFromQueue as fromQueue, metaRow as row,
  saveLatest as save,
} from './lib.mjs';

const base = env('KYSO_URL');
const password = env('KYSO_PASSWORD');
const work = env('KYSO_WORK');
const shot = screenshots(env('KYSO_SCREENSHOTS'));
const SUBJECT = 'Triển khai ký số văn bản đi trên hệ thống kyso';
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

const browser = await launch();

/// A logged-in browser of its own for `user`.
const person = (user) => signIn(browser, base, user, password);

/// The document from the person's "Chờ tôi xử lý" queue.
const openFromQueue = (page, who) => fromQueue(page, base, SUBJECT, who);

/// Save the latest version of the document to `path`.
const saveLatest = (page, path) => save(page, base, path);

/// Click "Ký số" for `op` with the agent at `address`; the agent shows the request, the test
/// types the PIN there, the agent signs and uploads, the server checks, the page reloads with
/// its message. `waiting`: the name of a screenshot of the page while the agent waits for the
/// PIN (the test's official reads the request at the agent until it is taken).
async function signThroughAgent(page, op, action, address, expected, what, waiting) {
  const ms = await signWithAgent(page, op, action, address, what, waiting && (async () => {
    await page.waitForFunction((id) => (document.getElementById(id)?.textContent ?? '').includes('mã PIN'),
      `sign-status-${action}`, { timeout: 30_000 });
    check(true, `${what}: the page says to type the PIN at the signing service`);
    await shot(page, waiting);
    writeFileSync(env('KYSO_PIN_SCREENSHOT_DONE'), '');
  }));
  console.log(`${what}: ticket, agent, PIN, signature, upload and server check in ${ms} ms`);
  await landed(page, action, expected, what);
}

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

  // 3. The drafter sees the reason, uploads the corrected draft and submits again; the unit
  //    head forwards it to the format check.
  await openFromQueue(drafter, 'the drafter (returned)');
  check((await drafter.textContent('main')).includes(reason), 'the drafter reads the reason');
  await drafter.setInputFiles('#draft-file', env('KYSO_DRAFT2_FILE'));
  await Promise.all([drafter.waitForNavigation(),
    drafter.click('main form:has(#draft-file) button[type=submit]')]);
  await landed(drafter, 'draft', 'Bị trả lại', 'the corrected draft');
  await step(drafter, 'submit', 'Chờ lãnh đạo đơn vị xem xét', 'the new submission');
  await openFromQueue(reviewer, 'the unit head (again)');
  await step(reviewer, 'forward', 'Chờ kiểm tra thể thức', 'the forward');

  // 4. The format check places the number and date fields; the signer approves.
  await openFromQueue(checker, 'the format checker');
  await step(checker, 'check_format', 'Chờ duyệt', 'the format check');
  await shot(checker, 'dt-03-kiem-tra-the-thuc');
  await openFromQueue(signer, 'the signer');
  await step(signer, 'approve', 'Đã duyệt, chờ ký', 'the approval');
  await shot(signer, 'dt-04-da-duyet-cho-ky');

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
  await signThroughAgent(signer, 'SignApproved', 'sign_personal', env('KYSO_SIGNER_AGENT'),
    'Đã ký, chờ văn thư kiểm tra', 'the personal signature', 'dt-06-cho-nhap-ma-pin');
  await shot(signer, 'dt-07-ky-ca-nhan');

  // 7. The clerk: check, number and date, the organization signature through her agent and
  //    the Department's token, registration, dispatch.
  await openFromQueue(clerk, 'the clerk');
  await step(clerk, 'clerk_check', 'Văn thư đã kiểm tra, chờ cấp số', "the clerk's check");
  await step(clerk, 'number', 'Đã cấp số, chờ ký số cơ quan', 'the number and date');
  const number = await row(clerk, 'Số, ký hiệu');
  check(/^\d+\/[^ ]+$/.test(number), `the page shows the number and notation (${number})`);
  await shot(clerk, 'dt-08-cap-so');
  await signThroughAgent(clerk, 'SignIssued', 'org_sign', env('KYSO_CLERK_AGENT'),
    'Đã ký số cơ quan, chờ vào sổ', 'the organization signature');
  await shot(clerk, 'dt-09-ky-so-co-quan');
  await step(clerk, 'register', 'Đã vào sổ, chờ phát hành', 'the registration');
  await step(clerk, 'dispatch', 'Đã phát hành', 'the dispatch');
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
console.log(`e2e documents: all steps passed in ${seconds()} s`);
