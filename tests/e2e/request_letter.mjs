// One request letter of the registry (Decree 68, Mẫu 01) through the outgoing-document flow in
// a real browser (Debian's chromium driven by playwright-core), every person in their own
// browser: the Department's signature officer drafts a request for a certificate for a new
// official and submits it, the province's administrator approves it, the officer makes its
// letter ("Lập công văn đề nghị": a công văn of the Department to the national CA, in the draft
// state), the unit head forwards it, the format check places the number and date fields, the
// Deputy Director approves and signs it on his token through his `kyso agent`, the clerk checks,
// numbers it in the demo's register of outgoing công văn, seals it with the Department's token
// through hers, registers and dispatches it — and the request shows it was sent, its deadline
// counted from the dispatch, the sealed letter downloadable.
// Started by crates/kyso/tests/cli/e2e_request_letter.rs, which starts the server and the
// agents, makes the accounts and types each PIN at the agent's terminal.
//
// Environment: KYSO_URL, KYSO_PASSWORD (every account's), KYSO_ADMIN_PASSWORD (the province's
// administrator's), KYSO_SIGNER_AGENT / KYSO_CLERK_AGENT (the agents' 127.0.0.1:PORT),
// KYSO_ISSUED_FILE (where the dispatched letter is saved), KYSO_SCREENSHOTS, CHROMIUM.

import {
  env, check, openStory, selectByText, allLabelled, requestAct, landed, takeStep, metaRow,
  openFromQueue,
  saveLatest, fitsWidth, overflowing, reviewToApproval, signPersonally, clerkIssues,
} from './lib.mjs';

const SUBJECT = 'V/v đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho cá nhân';
const NATIONAL_CA = 'G11.07.05';
const { base, shot, browser, person, passed } = await openStory();

/// The value of the request page's row `label`.
async function requestRow(page, label) {
  return (await page.locator(`main tr:has(th:text-is("${label}")) td`).first().textContent()).trim();
}

try {
  const officer = await person('le.hoang.cuong');
  const admin = await person('admin', { password: env('KYSO_ADMIN_PASSWORD') });
  const reviewer = await person('truong.phong.vp');
  const checker = await person('the.thuc.vp');
  const signer = await person('nguyen.van.an');
  const clerk = await person('tran.thi.binh');

  // 1. The signature officer drafts the Department's request for a certificate for a new
  //    official (Mẫu 01) and submits it; the province's administrator approves it.
  await officer.goto(`${base}/requests/new`);
  await officer.selectOption('#kind', 'issue_individual');
  await selectByText(officer, '#agency_id', 'Sở Khoa học và Công nghệ');
  await Promise.all([officer.waitForNavigation(), officer.click('main button[type=submit]')]);
  check(await allLabelled(officer), 'the request form (Mẫu 01) is labelled');
  await officer.fill('#contact_name', 'Lê Hoàng Cường');
  await officer.fill('#contact_title', 'Chuyên viên');
  await officer.fill('#contact_phone', '0900000003');
  await officer.fill('#f_name', 'Hoàng Thị Lan');
  await officer.fill('#f_date_of_birth', '17/04/1993');
  await officer.fill('#f_id_number', '099193000111');
  await officer.fill('#f_email', 'hoang.thi.lan@demo.invalid');
  await officer.fill('#f_title', 'Chuyên viên');
  await officer.fill('#f_unit', 'Văn phòng Sở');
  await Promise.all([officer.waitForURL(/\/requests\/\d+\?done=request_created$/), officer.click('main button[type=submit]')]);
  const requestPath = new URL(officer.url()).pathname;
  await requestAct(officer, 'Trình duyệt', 'Chờ duyệt');
  await admin.goto(`${base}${requestPath}`);
  await requestAct(admin, 'Duyệt', 'Đã duyệt');

  // 2. The officer makes its letter: the request's page offers the form, the letter is a draft
  //    công văn of the Department addressed to the national CA by its identifier code.
  await officer.goto(`${base}${requestPath}`);
  check((await officer.textContent('main .state')).trim() === 'Đã duyệt', 'the officer sees the request approved');
  check((await officer.locator('main button:has-text("Gửi đi")').count()) === 0,
    'no "send" button: the request leaves with its letter');
  check((await officer.textContent('main')).includes(NATIONAL_CA),
    `the letter form names the recipient's identifier code (${NATIONAL_CA})`);
  check(await allLabelled(officer), 'the letter form is labelled');
  await selectByText(officer, '#signer_id', 'Nguyễn Văn An');
  await officer.fill('#unit_abbrev', 'VP');
  await shot(officer, 'cong-van-de-nghi-01-de-nghi-da-duyet');
  await Promise.all([officer.waitForURL(/\/documents\/\d+\?done=created/),
    officer.click('main button[value=letter_document]')]);
  await landed(officer, 'created', 'Dự thảo', 'the request letter');
  const docPath = new URL(officer.url()).pathname;
  check((await officer.textContent('h1')).includes(SUBJECT), `the letter's subject is the request's (${SUBJECT})`);
  check((await metaRow(officer, 'Nơi nhận')).includes(NATIONAL_CA), 'the letter goes to the national CA');
  check((await metaRow(officer, 'Người ký')).includes('Nguyễn Văn An'), 'the Deputy Director signs it');
  await shot(officer, 'cong-van-de-nghi-02-du-thao');
  await officer.goto(`${base}${requestPath}`);
  check((await requestRow(officer, 'Công văn đề nghị')).includes('Dự thảo'),
    'the request links its letter, a draft');
  check((await officer.locator('main button[value=letter_document]').count()) === 0,
    'a second letter is no longer offered');
  await officer.goto(`${base}${docPath}`);
  await takeStep(officer, 'submit', 'Chờ lãnh đạo đơn vị xem xét', 'the submission');

  // 3. Review, format check (the number and date fields placed), approval.
  await reviewToApproval(base, SUBJECT, { reviewer, checker, signer });

  // 4. The Deputy Director's signature on his token through his agent.
  await signPersonally(signer, env('KYSO_SIGNER_AGENT'), 'the personal signature');
  await shot(signer, 'cong-van-de-nghi-03-ky-ca-nhan');

  // 5. The clerk: check, number and date in the demo's register of outgoing công văn, the
  //    Department's seal through her agent, registration, dispatch.
  await openFromQueue(clerk, base, SUBJECT, 'the clerk');
  const { number } = await clerkIssues(clerk, env('KYSO_CLERK_AGENT'), {
    numbered: async (n) => check(/^\d+\/SKHCN-VP$/.test(n), `the letter is numbered in the Department's series (${n})`),
  });
  await shot(clerk, 'cong-van-de-nghi-04-phat-hanh');
  await saveLatest(clerk, base, env('KYSO_ISSUED_FILE'));

  // 6. The request was sent with its letter: its state, the deadline counted from the
  //    dispatch, the timeline naming the letter's number, the sealed letter downloadable.
  await officer.goto(`${base}${requestPath}`);
  check((await officer.textContent('main .state')).trim() === 'Đã gửi', 'the request is sent');
  const deadline = await requestRow(officer, 'Hạn xử lý');
  check(/^\d{2}\/\d{2}\/\d{4}$/.test(deadline), `the request has its deadline (${deadline})`);
  check((await requestRow(officer, 'Công văn đề nghị')).includes('Đã phát hành'), 'its letter is dispatched');
  const timeline = await officer.textContent('main ol');
  check(timeline.includes(`Gửi đi cùng công văn số ${number}`), 'the timeline says it left with the letter, by number');
  const letter = await officer.request.get(`${base}${requestPath}/letter.pdf`);
  check(letter.ok() && letter.headers()['content-type'].includes('pdf'), 'the sealed letter downloads from the request');
  await shot(officer, 'cong-van-de-nghi-05-de-nghi-da-gui');
  await officer.setViewportSize({ width: 390, height: 844 });
  await officer.reload();
  const fits = await fitsWidth(officer);
  check(fits, `the request page fits a 390 px phone${fits ? '' : `: ${(await overflowing(officer)).join('; ')}`}`);
  console.log(`request letter: ${JSON.stringify({ request: requestPath, document: docPath, number, deadline })}`);
} finally {
  await browser.close();
}
passed('request letter');
