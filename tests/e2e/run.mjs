// End-to-end story of the kyso web UI in a real browser (Debian's chromium, driven by
// playwright-core). Started by crates/kyso/tests/cli/e2e.rs against a fresh `kyso serve`;
// every step asserts what a clerk would see, and the main pages are saved as screenshots.
//
// Environment: KYSO_URL, KYSO_ADMIN_PASSWORD (the one-time password the server printed),
// KYSO_NEW_PASSWORD, KYSO_OTHER_USER/KYSO_OTHER_PASSWORD (an officer of another agency the
// test creates through the accounts page),
// KYSO_CERT_FILE (a certificate to import), KYSO_DUP_CERT_FILE (one already registered),
// KYSO_SCREENSHOTS (directory), CHROMIUM (default /usr/bin/chromium).

import {
  env, check, screenshots, selectByText, allLabelled, launch, axeClean, requestAct as act,
  fitsWidth, overflowing,
} from './lib.mjs';

const base = env('KYSO_URL');
const shot = screenshots(env('KYSO_SCREENSHOTS'));

/// Walk a page with the Tab key alone: every visible link, button and form control is reached
/// in turn, and each shows where the focus is (an outline or a shadow). Returns how many.
async function keyboardWalk(page, path) {
  await page.goto(`${base}${path}`);
  await axeClean(page, path);
  const wanted = await page.evaluate(() =>
    [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
      .filter((el) => !el.disabled && el.getClientRects().length > 0 && el.tabIndex >= 0).length,
  );
  const reached = new Set();
  for (let i = 0; i < wanted + 5; i++) {
    await page.keyboard.press('Tab');
    const seen = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const st = getComputedStyle(el);
      const shown = (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== 'none';
      const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')];
      return { index: all.indexOf(el), shown, what: el.outerHTML.slice(0, 80) };
    });
    if (seen === null) continue;
    if (!seen.shown) throw new Error(`FAILED: no visible focus on ${path}: ${seen.what}`);
    reached.add(seen.index);
  }
  check(reached.size >= wanted, `${path}: the Tab key reaches all ${wanted} controls, each with a visible focus`);
  check(await allLabelled(page), `${path}: every control is labelled`);
  return wanted;
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'vi-VN' });
  const page = await context.newPage();

  // 1. Log in with the keyboard only: the one-time password leads to the password change.
  await page.goto(`${base}/`);
  check(page.url().endsWith('/login'), 'an anonymous visitor is sent to the login page');
  check(await allLabelled(page), 'the login form is labelled');
  await shot(page, '01-dang-nhap');
  // From the top of the page, Tab until the user name field has the focus (the skip link and
  // the language switch come first), then type; no element is focused by script.
  for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'username'; i++) {
    await page.keyboard.press('Tab');
  }
  check((await page.evaluate(() => document.activeElement?.id)) === 'username', 'the Tab key reaches the user name field');
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type('mat-khau-sai-123');
  await page.keyboard.press('Enter');
  await page.waitForLoadState();
  check((await page.textContent('[role=alert]')).includes('không đúng'), 'a wrong password is refused in Vietnamese');
  await page.fill('#username', 'admin');
  await page.fill('#password', env('KYSO_ADMIN_PASSWORD'));
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/password$/);
  await page.goto(`${base}/`);
  check(page.url().endsWith('/password'), 'the one-time password must be changed first: every page leads to the change');
  await page.fill('#old_password', env('KYSO_ADMIN_PASSWORD'));
  await page.fill('#new_password', 'ngan');
  await page.click('main button[type=submit]');
  check((await page.textContent('[role=alert]')).includes('10'), 'a short new password is refused with the rule');
  await page.fill('#old_password', env('KYSO_ADMIN_PASSWORD'));
  await page.fill('#new_password', env('KYSO_NEW_PASSWORD'));
  await page.click('main button[type=submit]');
  await page.waitForURL(`${base}/`);

  // 2. The dashboard.
  check((await page.textContent('h1')).includes('Tổng quan'), 'the dashboard opens in Vietnamese');
  check((await page.locator('.card').count()) >= 8, 'the dashboard shows its counters');
  await shot(page, '02-tong-quan');

  // 3. A new agency: a wrong code is named, then accepted in the 13-character form.
  await page.click('nav >> text=Cơ quan');
  await page.click('text=Thêm cơ quan');
  check(await allLabelled(page), 'the agency form is labelled');
  await selectByText(page, '#parent_id', 'Sở Khoa học và Công nghệ');
  await page.fill('#code', 'H9.37.2');
  await page.fill('#name', 'Phòng Thử nghiệm Demo');
  await page.selectOption('#kind', 'unit');
  await page.click('main button[type=submit]');
  check((await page.textContent('[role=alert]')).includes('Mã định danh') || (await page.getAttribute('#code', 'aria-invalid')) === 'true',
    'an invalid identifier code is named');
  await shot(page, '03-loi-ma-dinh-danh');
  await page.fill('#code', '000.02.37.H99');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/agencies\?done=agency_created$/);
  check((await page.textContent('[role=status]')).includes('Đã thêm cơ quan'), 'the save is confirmed');
  check((await page.textContent('main')).includes('H99.37.02'), 'the new agency is listed with its dotted code');
  await shot(page, '04-co-quan');

  // 4. A new subscriber, found again without diacritics.
  await page.click('nav >> text=Thuê bao');
  await page.click('text=Thêm thuê bao');
  check(await allLabelled(page), 'the subscriber form is labelled');
  await selectByText(page, '#agency_id', 'Phòng Thử nghiệm Demo');
  await page.fill('#name', 'Đặng Thị Ánh Tuyết');
  await page.fill('#date_of_birth', '31/12/2099');
  await page.click('main button[type=submit]');
  check((await page.textContent('[role=alert]')).includes('Ngày sinh'), 'a date of birth in the future is named');
  await page.fill('#date_of_birth', '15/08/1990');
  await page.fill('#id_number', '099190000999');
  await page.fill('#email', 'tuyet.dta@demo.invalid');
  await page.fill('#title', 'Chuyên viên');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/subscribers\/\d+\?done=subscriber_created$/);
  check((await page.textContent('[role=status]')).includes('Đã thêm thuê bao'), 'the new subscriber is confirmed');
  const subscriberUrl = page.url().replace(/\?.*$/, '');
  await page.goto(`${base}/subscribers?q=dang+thi+anh+tuyet`);
  check((await page.textContent('main')).includes('Đặng Thị Ánh Tuyết'), '"dang thi anh tuyet" finds "Đặng Thị Ánh Tuyết"');
  await shot(page, '05-tim-thue-bao');

  // 5. Import her certificate; a certificate already registered is refused with its serial.
  await page.goto(subscriberUrl);
  await page.click('text=Nhập chứng thư số');
  check(await allLabelled(page), 'the import form is labelled');
  await page.setInputFiles('#file', env('KYSO_DUP_CERT_FILE'));
  await page.click('main button[type=submit]');
  check((await page.textContent('[role=alert]')).includes('đã có trong danh mục'), 'a duplicate serial is refused');
  await page.setInputFiles('#file', env('KYSO_CERT_FILE'));
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/subscribers\/\d+\?done=certificate_imported$/);
  check((await page.textContent('[role=status]')).includes('Đã nhập chứng thư số'), 'the import is confirmed');
  check((await page.textContent('main')).includes('Còn hiệu lực'), 'the imported certificate is shown valid');
  await shot(page, '06-thue-bao-chung-thu');
  await page.goto(`${base}/certificates?expiring_within_days=60`);
  await shot(page, '07-chung-thu-sap-het-han');
  await page.goto(`${base}/audit`);
  check((await page.textContent('main table')).includes('Nhập chứng thư số'), 'the auditor view lists the import in words');
  check(!(await page.textContent('main')).includes('certificate.import'), 'no stored action names on the page');
  await shot(page, '08-nhat-ky');

  // 6. A renewal request for the certificate that expires in 25 days: drafted, submitted and
  //    approved in the browser. An approved request is no longer "sent" by a button with a
  //    server-held key: its letter is made as a công văn of the agency ("Lập công văn đề nghị")
  //    and goes through the outgoing-document flow (signed with the officials' own tokens — the
  //    flow itself is walked in a real browser by tests/e2e/documents.mjs; the request's part,
  //    sent at dispatch with the sealed letter, by kyso-web's tests/request_documents.rs).
  await page.click('nav >> text=Đề nghị');
  await page.click('text=Lập đề nghị');
  check(await allLabelled(page), 'the request chooser is labelled');
  await page.selectOption('#kind', 'renew');
  await selectByText(page, '#agency_id', 'Sở Khoa học và Công nghệ');
  await page.click('main button[type=submit]');
  check(await allLabelled(page), 'the renewal form is labelled');
  await page.fill('#contact_name', 'Trần Thị Bình');
  await page.fill('#contact_phone', '0900000002');
  await page.check('label:has-text("Vũ Thị Giang") >> xpath=preceding-sibling::input');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/requests\/\d+\?done=request_created$/);
  check((await page.textContent('[role=status]')).includes('Đã lưu đề nghị'), 'the new request is confirmed');
  const requestUrl = page.url();
  for (const [action, state] of [['Trình duyệt', 'Chờ duyệt'], ['Duyệt', 'Đã duyệt']]) {
    await act(page, action, state);
  }
  check((await page.locator('main button:has-text("Gửi đi")').count()) === 0,
    'an approved request offers no "send" button: it is sent when its letter is dispatched');
  check((await page.locator('main button[value=letter_document]').count()) === 1,
    'the approved request offers to make its letter as a document');
  check(await allLabelled(page), 'the letter form is labelled');
  await shot(page, '11-de-nghi-gia-han');
  await page.goto(`${base}/notices`);
  check((await page.textContent('h1')).includes('Thông báo'), 'the notices inbox opens');
  await page.goto(`${base}/`);
  await shot(page, '02-tong-quan');

  // 7. English on request.
  await page.click('text=English');
  check((await page.textContent('h1')).includes('Dashboard'), 'the English switch works');
  await page.click('text=Tiếng Việt');

  // 8. Every main page, and a subscriber's, a request's and a device's own page, works with the
  //    keyboard alone, and a search is typed and sent with it.
  for (const path of ['/', '/huong-dan', '/agencies', '/agencies/new', '/subscribers', '/subscribers/new',
                      '/certificates', '/devices', '/devices/new', '/requests', '/requests/new', '/notices',
                      '/reports', '/audit', '/users', '/password', '/certificates/import',
                      new URL(subscriberUrl).pathname, new URL(requestUrl).pathname, '/devices/1']) {
    await keyboardWalk(page, path);
  }
  // The same pages on a 390 px phone: nothing but a table's own region scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ['/', '/huong-dan', '/agencies', '/agencies/new', '/subscribers', '/subscribers/new',
                      '/certificates', '/devices', '/devices/new', '/requests', '/requests/new', '/notices',
                      '/reports', '/audit', '/users', '/password', '/certificates/import',
                      new URL(subscriberUrl).pathname, new URL(requestUrl).pathname, '/devices/1']) {
    await page.goto(`${base}${path}`);
    const fits = await fitsWidth(page);
    check(fits, `${path} fits a 390 px phone${fits ? '' : `: ${(await overflowing(page)).join('; ')}`}`);
  }
  await page.goto(`${base}/`);
  await shot(page, '13-dien-thoai-tong-quan');
  await page.goto(`${base}/subscribers`);
  await shot(page, '14-dien-thoai-thue-bao');
  await page.goto(subscriberUrl);
  await shot(page, '15-dien-thoai-mot-thue-bao');
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.goto(`${base}/subscribers`);
  for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.id)) !== 'q'; i++) {
    await page.keyboard.press('Tab');
  }
  check((await page.evaluate(() => document.activeElement?.id)) === 'q', 'the Tab key reaches the search field');
  await page.keyboard.type('vu thi giang');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  check((await page.textContent('main')).includes('Vũ Thị Giang'), 'a search typed and sent with the keyboard finds "Vũ Thị Giang"');

  // 9. The administrator opens an account for an officer of the Department of Finance, who
  //    then tries the page of our subscriber.
  const other = env('KYSO_OTHER_USER');
  await page.click('nav >> text=Tài khoản');
  check(await allLabelled(page), 'the account form is labelled');
  await page.fill('#username', other);
  await page.fill('#full_name', 'Cán bộ Sở Tài chính (demo)');
  await selectByText(page, '#agency_id', 'Sở Tài chính');
  await page.selectOption('#role', 'signature_officer');
  await page.fill('#password', 'mat-khau-ban-dau-1');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/users\?done=user_created$/);
  check((await page.textContent('[role=status]')).includes('Đã tạo tài khoản'), 'the new account is confirmed');
  check((await page.textContent('main')).includes(other), 'the new account is listed');
  await shot(page, '10-tai-khoan');
  await page.click('header button[type=submit]');
  await page.waitForURL(/\/login$/);
  await page.fill('#username', other);
  await page.fill('#password', 'mat-khau-ban-dau-1');
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/password$/);
  await page.fill('#old_password', 'mat-khau-ban-dau-1');
  await page.fill('#new_password', env('KYSO_OTHER_PASSWORD'));
  await page.click('main button[type=submit]');
  await page.waitForURL(`${base}/`);
  const res = await page.goto(subscriberUrl);
  check(res.status() === 404, 'another agency\'s officer gets 404 on our subscriber');
  check((await page.textContent('[role=alert]')).includes('Không tìm thấy'), 'and a Vietnamese explanation');
  await shot(page, '09-truy-cap-trai-phep');
  await page.goto(`${base}/subscribers?q=tuyet`);
  check(!(await page.textContent('main')).includes('Ánh Tuyết'), 'nor does she appear in their search');

  // 10. The administrator disables that officer's account (a confirmation first, then a
  //     success message; the officer's session ends), and enables it again.
  await page.goto(`${base}/`);
  await page.click('header button[type=submit]');
  await page.waitForURL(/\/login$/);
  await page.fill('#username', 'admin');
  await page.fill('#password', env('KYSO_NEW_PASSWORD'));
  await page.press('#password', 'Enter');
  await page.waitForURL(`${base}/`);
  await page.goto(`${base}/users`);
  await Promise.all([page.waitForNavigation(), page.click(`main a:has-text("${other}")`)]);
  const accountPath = new URL(page.url()).pathname;
  check(/^\/users\/\d+$/.test(accountPath), 'the account list leads to the account\'s own page');
  await keyboardWalk(page, accountPath);
  await Promise.all([page.waitForNavigation(), page.click('main button:text-is("Khóa tài khoản")')]);
  check((await page.textContent('main [role=alert]')).includes('Bạn có chắc chắn muốn khóa tài khoản'),
    'disabling an account asks for confirmation first');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Xác nhận khóa tài khoản")')]);
  check((await page.textContent('main [role=status]')).includes('Đã khóa tài khoản'), 'the account is disabled, with a success message');
  check((await page.textContent('#account-status')).includes('Đã khóa'), 'and is shown as disabled');
  await shot(page, '12-khoa-tai-khoan');
  await Promise.all([page.waitForNavigation(), page.click('main button:text-is("Mở khóa tài khoản")')]);
  check((await page.textContent('main [role=status]')).includes('Đã mở khóa tài khoản'), 'the account is enabled again, with a success message');
  check((await page.textContent('#account-status')).includes('Đang hoạt động'), 'and is shown as active');

  // 11. The test unit gets its code in the national list (H99.37.09): the new codes are shown
  //     before anything changes; then the unit is merged into the Department (dissolved, its
  //     subscriber moved), after a confirmation naming what happens.
  await page.goto(`${base}/agencies?q=${encodeURIComponent('Phòng Thử nghiệm Demo')}`);
  await Promise.all([page.waitForNavigation(), page.click('main a:has-text("Phòng Thử nghiệm Demo")')]);
  const unitPath = new URL(page.url()).pathname;
  await keyboardWalk(page, unitPath);
  await selectByText(page, '#parent_id', 'Sở Khoa học và Công nghệ');
  await page.fill('#code', 'H99.37.09');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Xem các mã mới")')]);
  check((await page.textContent('main')).includes('H99.37.02 → H99.37.09'), 'moving an agency shows its new code first');
  await shot(page, '16-chuyen-co-quan');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Chuyển cơ quan")')]);
  check((await page.textContent('main [role=status]')).includes('Đã chuyển cơ quan'), 'the move is confirmed');
  check((await page.textContent('main')).includes('000.09.37.H99'), 'the agency carries its new code in both forms');
  await selectByText(page, '#successor_id', 'Sở Khoa học và Công nghệ');
  await page.fill('#reason', 'Quyết định số 15/QĐ-UBND ngày 02/12/2026 của UBND tỉnh');
  await Promise.all([page.waitForNavigation(), page.click('main button.danger:has-text("Giải thể cơ quan")')]);
  check((await page.textContent('main [role=alert]')).includes('Giải thể cơ quan này?'), 'dissolving asks first');
  check((await page.textContent('main')).includes('Thuê bao cá nhân chuyển đi: 1'), 'and says who moves');
  await shot(page, '17-giai-the-co-quan');
  await Promise.all([page.waitForNavigation(), page.click('main button.danger:has-text("Giải thể cơ quan")')]);
  check((await page.textContent('main [role=status]')).includes('Đã giải thể cơ quan'), 'the agency is dissolved, with a success message');
  await page.goto(subscriberUrl);
  check((await page.textContent('main')).includes('Sở Khoa học và Công nghệ'), 'its subscriber now belongs to the Department');

  // 12. One reporting cycle: the Department opens the six-monthly report; the Department of
  //     Finance's officer reviews its figures (charts drawn on the server), adds its needs and
  //     submits after a confirmation, and gets it as a PDF; the Department sees it has reported.
  await page.goto(`${base}/reports`);
  await page.selectOption('#kind', 'six_monthly');
  await page.fill('#year', '2026');
  await page.selectOption('#half', '2');
  await page.fill('#due_day', '15/01/2027');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Mở kỳ báo cáo")')]);
  check((await page.textContent('main [role=status]')).includes('Đã mở kỳ báo cáo'), 'the period is opened, with a success message');
  check((await page.textContent('h1')).includes('Báo cáo 6 tháng cuối năm 2026'), 'the period is named as officers say it');
  await shot(page, 'bc-01-mo-ky-bao-cao');
  const periodUrl = page.url().replace(/\?.*$/, '');
  await page.click('header button[type=submit]');
  await page.waitForURL(/\/login$/);
  await page.fill('#username', other);
  await page.fill('#password', env('KYSO_OTHER_PASSWORD'));
  await page.press('#password', 'Enter');
  await page.waitForURL(`${base}/`);
  await page.goto(periodUrl);
  await Promise.all([page.waitForNavigation(), page.click('main a:has-text("Sở Tài chính")')]);
  check((await page.locator('main svg[role=img]').count()) >= 3, 'the figures come with their charts');
  await keyboardWalk(page, new URL(page.url()).pathname + new URL(page.url()).search);
  await page.fill('#devices', '4');
  await page.fill('#comments', 'Đã cấp đủ chứng thư số cho lãnh đạo các phòng.');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Gửi báo cáo")')]);
  check((await page.textContent('main [role=alert]')).includes('Gửi báo cáo này về Sở?'), 'submitting asks first');
  await Promise.all([page.waitForNavigation(), page.click('main button:has-text("Gửi báo cáo")')]);
  check((await page.textContent('main [role=status]')).includes('Đã gửi báo cáo về Sở'), 'the report is submitted, with a success message');
  // Its document is made by someone who also drafts the agency's documents: the page says so.
  check((await page.textContent('main')).includes('được giao soạn thảo văn bản'), 'the report page names the role its document needs');
  const preview = await page.request.get(base + (await page.getAttribute('main a[href*="/report.pdf"]', 'href')));
  check(preview.status() === 200 && preview.headers()['content-type'] === 'application/pdf'
        && (await preview.body()).subarray(0, 5).toString() === '%PDF-', 'the report downloads as a PDF (a preview until its document is issued)');
  await shot(page, 'bc-02-bao-cao-da-gui');
  await page.click('header button[type=submit]');
  await page.waitForURL(/\/login$/);
  await page.fill('#username', 'admin');
  await page.fill('#password', env('KYSO_NEW_PASSWORD'));
  await page.press('#password', 'Enter');
  await page.waitForURL(`${base}/`);
  await page.goto(periodUrl);
  check(/1 \/ \d+ cơ quan đã gửi/.test(await page.textContent('main')), 'the Department sees one agency has reported');
  await shot(page, 'bc-03-tong-hop');
} finally {
  await browser.close();
}
console.log('e2e: all steps passed');
