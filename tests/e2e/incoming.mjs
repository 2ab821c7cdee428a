// Documents from agency A (the Department of Science) arriving at agency B (the Department of
// Finance) in a real browser (Debian's chromium driven by playwright-core), every person in
// their own browser:
// - A's Deputy Director signs two approved documents through his `kyso agent` and token, A's
//   clerk numbers, seals through hers, registers and dispatches them to B;
// - B's clerk waits (bounded) for them in "Văn bản đến", reads the verdict and its reasons
//   first (also at 390 px), opens the first (the report made on arrival), registers it (its
//   arrival number shown); B's Director assigns it to a unit with a deadline (04); the unit's
//   officer marks it being handled with the keyboard (05) and completed (06);
// - B's clerk refuses the second with a reason after a confirmation (02), and A's clerk reads
//   the reason on the document's page and in her notices;
// - a copy of the first with one signed byte changed, received by e-mail as from A and
//   uploaded by B's clerk, is shown invalid with the reason, offers no registration, is refused
//   when registered anyway, and is refused with a reason.
// Started by crates/kyso/tests/cli/e2e_incoming.rs, which starts the server and the agents,
// makes the accounts and the two documents up to their approval through the REST API.
//
// Environment: KYSO_URL, KYSO_PASSWORD (every account's), KYSO_DOCS (JSON [{id, subject}]),
// KYSO_SIGNER_AGENT / KYSO_CLERK_AGENT (the agents' 127.0.0.1:PORT), KYSO_WORK (a directory),
// KYSO_SENDER_NAME, KYSO_SENDER_CODE (A), KYSO_UNIT (the name of B's handling unit),
// KYSO_SCREENSHOTS, CHROMIUM.

import { readFileSync, writeFileSync } from 'node:fs';
import {
  env, check, openStory, selectByText, allLabelled, done, fitsWidth, signPersonally, clerkIssues,
  saveLatest,
} from './lib.mjs';

const work = env('KYSO_WORK');
const docs = JSON.parse(env('KYSO_DOCS'));
const senderName = env('KYSO_SENDER_NAME');
const senderCode = env('KYSO_SENDER_CODE');
const unitName = env('KYSO_UNIT');
const { base, shot, seconds, browser, person, passed } = await openStory();

/// The text of the element `selector`, trimmed.
const text = async (page, selector) => ((await page.textContent(selector)) ?? '').trim();

/// Submit an incoming document's form whose action is `action` and land on its message.
async function incomingStep(page, action, what, submit) {
  await Promise.all([page.waitForNavigation(), submit ?? page.click(`main form:has(input[name=action][value=${action}]) button[type=submit]`)]);
  await done(page, action, what);
}

/// The incoming document's state as its page shows it, with the edXML status code.
async function incomingState(page) {
  return (await text(page, 'main tr:has(#incoming-state) td')).replace(/\s+/g, ' ');
}

/// The queue's row of `subject` (text), or '' when it is not there yet.
async function queueRow(page, subject) {
  return page.evaluate((s) => {
    const row = [...document.querySelectorAll('#incoming-queue tbody tr')].find((r) => r.textContent.includes(s));
    return row ? [...row.cells].map((c) => c.textContent.trim().replace(/\s+/g, ' ')).join(' | ') : '';
  }, subject);
}

/// Refuse the incoming document open in `page` with `reason`: the form, the confirmation page,
/// the confirmed refusal.
async function refuse(page, reason, what) {
  await page.fill('#refuse-reason', reason);
  await Promise.all([page.waitForNavigation(),
    page.click('main form:has(input[name=action][value=refuse]) button[type=submit]')]);
  check((await page.textContent('main')).includes('Xác nhận từ chối văn bản đến'), `${what}: the refusal asks for confirmation`);
  check((await page.textContent('main')).includes(reason), `${what}: the confirmation repeats the reason`);
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Xác nhận từ chối")')]);
  await done(page, 'refuse', what);
  const s = await incomingState(page);
  check(s.includes('02'), `${what}: the document is refused, status 02 (${s})`);
}

try {
  const signer = await person('nguyen.van.an');
  const clerkA = await person('tran.thi.binh');
  const clerkB = await person('van.thu.tc');
  const leaderB = await person('giam.doc.tc');
  const officerB = await person('chuyen.vien.ns');

  // 1. A signs, numbers, seals and dispatches both documents.
  const numbers = [];
  for (const d of docs) {
    await signer.goto(`${base}/documents/${d.id}`);
    const ms1 = await signPersonally(signer, env('KYSO_SIGNER_AGENT'), `the personal signature of "${d.subject}"`);
    await clerkA.goto(`${base}/documents/${d.id}`);
    const { number, ms: ms2 } = await clerkIssues(clerkA, env('KYSO_CLERK_AGENT'));
    numbers.push(number);
    console.log(`A: "${d.subject}" ${number} signed (${ms1} ms), sealed (${ms2} ms) and dispatched at ${seconds()} s`);
  }
  // The issued file of the first, kept for the tampered copy.
  await clerkA.goto(`${base}/documents/${docs[0].id}`);
  const issuedBytes = readFileSync(await saveLatest(clerkA, base, `${work}/ban-phat-hanh.pdf`));

  // 2. B's clerk: both arrive in "Văn bản đến" (delivered inside kyso; the page is reloaded
  //    until they are there, 60 s at most), the verdict and its reasons first.
  const t0 = Date.now();
  let rows = ['', ''];
  while (Date.now() - t0 < 60_000) {
    await clerkB.goto(`${base}/incoming`);
    rows = [await queueRow(clerkB, docs[0].subject), await queueRow(clerkB, docs[1].subject)];
    if (rows.every((r) => r)) break;
    await clerkB.waitForTimeout(1000);
  }
  check(rows.every((r) => r), `both documents arrived at B within ${((Date.now() - t0) / 1000).toFixed(1)} s of the dispatch`);
  for (const r of rows) {
    const verdict = r.split(' | ')[0];
    check(/^(Hợp lệ|Không xác định được — .+|Không hợp lệ — .+)$/.test(verdict), `the row begins with the verdict and its reasons ("${verdict}")`);
    check(r.includes(senderName), `the row names the sender (${senderName})`);
  }
  console.log(`queue: ${rows.join('\n       ')}`);
  await shot(clerkB, 'vb-den-01-hang-doi');
  check(await allLabelled(clerkB), 'the queue\'s filter is labelled');

  // At 390 px, on a phone: the queue fits (the table scrolls in its own region).
  await clerkB.setViewportSize({ width: 390, height: 844 });
  await clerkB.goto(`${base}/incoming`);
  check(await fitsWidth(clerkB), 'the queue fits 390 px without sideways scrolling of the page');
  await shot(clerkB, 'vb-den-02-dien-thoai');
  await clerkB.setViewportSize({ width: 1280, height: 900 });

  // 3. The first: its report made on arrival, then registered with its arrival number.
  await Promise.all([clerkB.waitForNavigation(), clerkB.click(`#incoming-queue a:has-text("${docs[0].subject}")`)]);
  const first = new URL(clerkB.url()).pathname;
  const verdict = await text(clerkB, '#verdict');
  check(verdict.length > 0, `the page shows the verdict on arrival ("${verdict}")`);
  await clerkB.click('#report-detail summary');
  const report = await text(clerkB, '#report-detail');
  check(report.includes('Nguyễn Văn An') && report.includes('Chữ ký số của cơ quan, tổ chức'),
    'the report names the Deputy Director\'s signature and the Department\'s seal');
  check(report.includes('nguyên vẹn') && report.includes('không kiểm tra lại khi mở trang'),
    'both signatures intact, in the report kept from the arrival');
  await shot(clerkB, 'vb-den-03-bao-cao-kiem-tra');
  if ((await clerkB.locator('#register-reason').count()) > 0) {
    // Not established (the revocation services of the demo PKI do not run): the clerk's reason.
    await clerkB.fill('#register-reason', 'Đã đối chiếu với bản phát hành trên hệ thống của Sở Khoa học và Công nghệ.');
  }
  await incomingStep(clerkB, 'register', 'the registration');
  const arrival = await text(clerkB, '#arrival-number');
  check(/^\d+$/.test(arrival), `the arrival number is shown (${arrival})`);
  check((await incomingState(clerkB)).includes('03'), 'registered, status 03');
  await shot(clerkB, 'vb-den-04-vao-so');

  // 4. B's Director assigns the unit with a deadline a week ahead.
  await leaderB.goto(`${base}${first}`);
  await selectByText(leaderB, '#lead_unit_id', unitName);
  const deadline = new Date(Date.now() + 7 * 86_400_000 + 7 * 3_600_000).toISOString().slice(0, 10);
  await leaderB.fill('#deadline', deadline);
  await leaderB.fill('#assign-note', 'Phòng Ngân sách chủ trì, báo cáo Giám đốc trước hạn.');
  check(await allLabelled(leaderB), 'the assignment form is labelled');
  await incomingStep(leaderB, 'assign', 'the assignment');
  const assigned = await incomingState(leaderB);
  check(assigned.includes('04'), `assigned, status 04 (${assigned})`);
  const [y, m, d] = deadline.split('-');
  check((await leaderB.textContent('main')).includes(`${d}/${m}/${y}`), `the deadline is shown (${d}/${m}/${y})`);
  await shot(leaderB, 'vb-den-05-giao-xu-ly');

  // 5. The unit's officer: "being handled" with the keyboard alone, then completed.
  await officerB.goto(`${base}${first}`);
  await officerB.focus('#handling-note');
  await officerB.keyboard.type('Đang tổng hợp số liệu.');
  await officerB.keyboard.press('Tab');
  check(await officerB.evaluate(() => document.activeElement?.getAttribute('value') === 'start'),
    'Tab from the note reaches the "Đang xử lý" button');
  await Promise.all([officerB.waitForNavigation(), officerB.keyboard.press('Enter')]);
  await done(officerB, 'start', 'being handled (keyboard)');
  check((await incomingState(officerB)).includes('05'), 'being handled, status 05');
  await incomingStep(officerB, 'complete', 'the completion', officerB.click('main button[name=action][value=complete]'));
  const completed = await incomingState(officerB);
  check(completed.includes('06'), `completed, status 06 (${completed})`);
  const timeline = await text(officerB, '#timeline');
  check(['Văn bản đến, đã kiểm tra chữ ký số', 'Vào sổ văn bản đến', 'Phân công xử lý', 'Bắt đầu xử lý', 'Hoàn thành xử lý']
    .every((w) => timeline.includes(w)), 'the timeline lists the arrival, registration, assignment and handling');
  await shot(officerB, 'vb-den-06-hoan-thanh');

  // 6. The second is refused with a reason; A's clerk reads it.
  const reasonRefused = 'Văn bản gửi nhầm nơi nhận: nội dung thuộc thẩm quyền của Sở Kế hoạch và Đầu tư.';
  await clerkB.goto(`${base}/incoming`);
  await Promise.all([clerkB.waitForNavigation(), clerkB.click(`#incoming-queue a:has-text("${docs[1].subject}")`)]);
  await refuse(clerkB, reasonRefused, 'the refusal of the second document');
  await clerkA.goto(`${base}/documents/${docs[1].id}`);
  check((await clerkA.textContent('main')).includes(reasonRefused), "A's clerk reads the reason on the document's page");
  await shot(clerkA, 'vb-den-07-noi-gui-thay-ly-do');
  await clerkA.goto(`${base}/notices`);
  const notices = await clerkA.textContent('main');
  check(notices.includes('từ chối tiếp nhận') && notices.includes(docs[1].subject), "A's clerk has the refusal in her notices");

  // 7. A tampered copy of the first, received by e-mail as from A: one digit of the page's
  //    /MediaBox changed (inside every signature's signed bytes).
  const bytes = Buffer.from(issuedBytes);
  const at = bytes.indexOf('/MediaBox');
  let digit = at;
  while (!(bytes[digit] >= 0x31 && bytes[digit] <= 0x39)) digit++;
  bytes[digit] = bytes[digit] === 0x39 ? 0x38 : bytes[digit] + 1;
  const tampered = `${work}/ban-sao-bi-sua.pdf`;
  writeFileSync(tampered, bytes);
  check(readFileSync(tampered).length === issuedBytes.length, 'the copy differs by one byte');
  await clerkB.goto(`${base}/incoming/new`);
  check(await allLabelled(clerkB), 'the upload form is labelled');
  await selectByText(clerkB, '#agency_id', 'Sở Tài chính');
  await clerkB.setInputFiles('#file', tampered);
  await clerkB.fill('#sender_name', senderName);
  await clerkB.fill('#sender_code', senderCode);
  const [num, notation] = numbers[0].split('/');
  await clerkB.fill('#number', String(Number(num) + 100));
  await clerkB.fill('#notation', notation);
  await clerkB.fill('#subject', `${docs[0].subject} (bản nhận qua thư điện tử)`);
  await Promise.all([clerkB.waitForNavigation(), clerkB.click('main form[enctype="multipart/form-data"] button[type=submit]')]);
  await done(clerkB, 'created', 'the upload of the tampered copy');
  const badPage = new URL(clerkB.url()).pathname;
  const badVerdict = await text(clerkB, '#verdict');
  check(badVerdict.startsWith('Không hợp lệ') && badVerdict.includes('thay đổi sau khi ký'),
    `the tampered copy is invalid, with the reason ("${badVerdict}")`);
  check((await clerkB.locator('#no-register').count()) === 1
    && (await clerkB.locator('main input[name=action][value=register]').count()) === 0,
  'an invalid document offers no registration, and says why');
  await shot(clerkB, 'vb-den-08-ban-bi-sua');
  // Registered anyway (a forged form with the session's token): refused.
  const csrf = await clerkB.getAttribute('main input[name=csrf]', 'value');
  const forced = await clerkB.request.post(`${base}${badPage}/act`, {
    form: { csrf, action: 'register', reason: 'vẫn vào sổ' }, maxRedirects: 0,
  });
  const forcedText = await forced.text();
  check(forced.status() >= 400 && !forcedText.includes('Số đến'), `registering it anyway is refused (${forced.status()})`);
  await clerkB.goto(`${base}${badPage}`);
  await refuse(clerkB, 'Chữ ký số không hợp lệ: văn bản đã bị thay đổi sau khi ký. Đề nghị gửi lại bản điện tử gốc.',
    'the refusal of the tampered copy');
  check((await clerkB.textContent('main')).includes('Đề nghị gửi lại bản điện tử gốc'), 'the reason is on the page');
  await shot(clerkB, 'vb-den-09-tu-choi');
} finally {
  await browser.close();
}
passed('incoming');
