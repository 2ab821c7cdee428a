// Helpers shared by the browser stories (run.mjs, documents.mjs, incoming.mjs,
// request_letter.mjs, public_verify.mjs): the story's opening, the people's browsers, the
// outgoing document's steps from the approval to the dispatch, and the pages' checks.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

/// An environment variable, or `d`; missing without a default is an error.
export const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
};

export function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

/// A function saving a full-page screenshot of a page as `dir/NAME.png`, after checking the
/// page with axe-core ([`axeClean`]): every page the README shows is free of serious violations.
export function screenshots(dir) {
  mkdirSync(dir, { recursive: true });
  return async (page, name) => {
    await axeClean(page, `${name} (${new URL(page.url()).pathname})`);
    await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
  };
}

/// Select the option whose text contains `text`.
export async function selectByText(page, selector, text) {
  const value = await page.$eval(selector, (s, t) => {
    const o = [...s.options].find((o) => o.text.includes(t));
    return o ? o.value : null;
  }, text);
  if (value === null) throw new Error(`no option "${text}" in ${selector}`);
  await page.selectOption(selector, value);
}

/// Every visible form control has a label the screen reader announces.
export async function allLabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].every(
      (el) => (el.labels && el.labels.length > 0) || el.getAttribute('aria-label'),
    ),
  );
}

/// Debian's chromium, headless, as the container allows it.
export function launch() {
  return chromium.launch({
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/// A browser context of its own for `user`, logged in through the login page (Enter in the
/// password field); `size`: the viewport.
export async function signIn(browser, base, user, password, size = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport: size, locale: 'vi-VN' });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/`), page.press('#password', 'Enter')]);
  return page;
}

/// What a story opens with: the site (`KYSO_URL`), its screenshots (`KYSO_SCREENSHOTS`), the
/// seconds since it began, the browser, and `person(user, { password, size })`: a browser of
/// their own for `user`, signed in with `password` (default `KYSO_PASSWORD`). `passed(name)`
/// prints the story's last line, `e2e NAME: all steps passed in … s` (once every step passed
/// and the browser is closed).
export async function openStory() {
  const base = env('KYSO_URL');
  const shot = screenshots(env('KYSO_SCREENSHOTS'));
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  const browser = await launch();
  const person = (user, { password = env('KYSO_PASSWORD'), size } = {}) =>
    signIn(browser, base, user, password, size);
  const passed = (name) => console.log(`e2e ${name}: all steps passed in ${seconds()} s`);
  return { base, shot, seconds, browser, person, passed };
}

/// Press a request's action button `label`: fail with the page's message if it was refused,
/// and check that the request's state badge now says `state`.
export async function requestAct(page, label, state) {
  await Promise.all([page.waitForNavigation(), page.click(`main button:has-text("${label}")`)]);
  const alert = page.locator('[role=alert]:not(:empty)');
  if ((await alert.count()) > 0) throw new Error(`"${label}" refused: ${await alert.first().textContent()}`);
  const badge = (await page.textContent('main .state')).trim();
  check(badge === state, `the request's "${label}" leaves it "${state}" (badge: "${badge}")`);
}

/// No error shown, the page's address says `done=DONE` and its success message is shown.
export async function done(page, doneName, what) {
  const alert = page.locator('main [role=alert]:not(:empty)');
  if ((await alert.count()) > 0) throw new Error(`${what} refused: ${await alert.first().textContent()}`);
  check(page.url().includes(`done=${doneName}`) && (await page.locator('main [role=status].ok, main .alert.ok').count()) > 0,
    `${what}: the page says it is done`);
}

/// The page's width fits the viewport: nothing scrolls sideways but the regions meant to.
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/// The innermost elements reaching past the viewport's right edge (tag, class and a little
/// text), to say why a page does not fit.
export async function overflowing(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('main *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} "${(el.textContent || '').trim().slice(0, 40)}"`),
  );
}

/// Click a document page's "Ký số" button for `op` with the signing agent (`kyso agent`) at
/// `address` (typed in the page's address field, which the page remembers), and wait until
/// the agent signed, uploaded and the server accepted (the page reloads with `done=ACTION`).
/// `whileWaiting(page)`: run after the click (e.g. a screenshot while the PIN is asked).
/// Returns the milliseconds from the click to the page's reload.
export async function signWithAgent(page, op, action, address, what, whileWaiting) {
  await page.fill('#kyso-agent-address', address);
  await page.press('#kyso-agent-address', 'Tab');
  check((await page.evaluate(() => localStorage.getItem('kyso.agent'))) === address,
    `${what}: the page remembers the signing service's address`);
  const button = page.locator(`button.sign-agent[data-op="${op}"]`);
  check(await button.isEnabled(), `${what}: the "Ký số" button is enabled`);
  const t0 = Date.now();
  await Promise.all([
    page.waitForURL(new RegExp(`done=${action}`), { timeout: 90_000 }).catch(async (e) => {
      const status = await page.textContent(`#sign-status-${action}`).catch(() => '');
      throw new Error(`${what}: no success after the click; status: "${status}" (${e.message})`);
    }),
    (async () => {
      await button.click();
      if (whileWaiting) await whileWaiting(page);
    })(),
  ]);
  return Date.now() - t0;
}

/// An outgoing document's state as its page's badge shows it.
export async function docState(page) {
  return (await page.textContent('#doc-state')).trim();
}

/// After a document step: no error, the success message of `doneName`, the state `expected`.
export async function landed(page, doneName, expected, what) {
  await done(page, doneName, what);
  const s = await docState(page);
  check(s === expected, `${what}: the document is "${expected}" (shown: "${s}")`);
}

/// Press the step's button in the document page's form and land on its success message with
/// the document `expected`.
export async function takeStep(page, action, expected, what) {
  await Promise.all([page.waitForNavigation(), page.click(`main button[name=action][value=${action}]`)]);
  await landed(page, action, expected, what);
}

/// Open the document titled `subject` from the person's "Chờ tôi xử lý" queue (`who` names
/// them in the check).
export async function openFromQueue(page, base, subject, who) {
  await page.goto(`${base}/documents`);
  const queue = await page.evaluate(() => {
    const h = document.getElementById('queue');
    return h && h.nextElementSibling ? h.nextElementSibling.textContent : '';
  });
  check(queue.includes(subject), `the document is in ${who}'s "Chờ tôi xử lý" queue`);
  await Promise.all([page.waitForNavigation(), page.click(`main a:has-text("${subject}")`)]);
}

/// An approved outgoing document through review: the unit head forwards it, the format checker
/// places the number and date fields, the signer approves — each opening the document titled
/// `subject` from their queue. `checked(page)` and `approved(page)` run after those steps (a
/// screenshot).
export async function reviewToApproval(base, subject, { reviewer, checker, signer }, { checked, approved } = {}) {
  await openFromQueue(reviewer, base, subject, 'the unit head');
  await takeStep(reviewer, 'forward', 'Chờ kiểm tra thể thức', 'the forward');
  await openFromQueue(checker, base, subject, 'the format checker');
  await takeStep(checker, 'check_format', 'Chờ duyệt', 'the format check');
  if (checked) await checked(checker);
  await openFromQueue(signer, base, subject, 'the signer');
  await takeStep(signer, 'approve', 'Đã duyệt, chờ ký', 'the approval');
  if (approved) await approved(signer);
}

/// The signer's personal signature of the approved document open in `page`, through the
/// signing agent at `agent` ([`signWithAgent`]; `whileWaiting` as there), landing on its
/// success message. The milliseconds from the click to the page's reload.
export async function signPersonally(page, agent, what, whileWaiting) {
  const ms = await signWithAgent(page, 'SignApproved', 'sign_personal', agent, what, whileWaiting);
  console.log(`${what}: ticket, agent, PIN, signature, upload and server check in ${ms} ms`);
  await landed(page, 'sign_personal', 'Đã ký, chờ văn thư kiểm tra', what);
  return ms;
}

/// The clerk's part of the personally signed document open in `page`: the check, the number
/// and date (`numbered(number)` runs with the number the page shows), the organization
/// signature through the clerk's agent at `agent` (`sealed()` after it), the registration and
/// the dispatch, each landing on its state. The number and the seal's milliseconds.
export async function clerkIssues(page, agent, { numbered, sealed } = {}) {
  await takeStep(page, 'clerk_check', 'Văn thư đã kiểm tra, chờ cấp số', "the clerk's check");
  await takeStep(page, 'number', 'Đã cấp số, chờ ký số cơ quan', 'the number and date');
  const number = await metaRow(page, 'Số, ký hiệu');
  if (numbered) await numbered(number);
  const what = 'the organization signature';
  const ms = await signWithAgent(page, 'SignIssued', 'org_sign', agent, what);
  console.log(`${what}: ticket, agent, PIN, signature, upload and server check in ${ms} ms`);
  await landed(page, 'org_sign', 'Đã ký số cơ quan, chờ vào sổ', what);
  if (sealed) await sealed();
  await takeStep(page, 'register', 'Đã vào sổ, chờ phát hành', 'the registration');
  await takeStep(page, 'dispatch', 'Đã phát hành', 'the dispatch');
  check((await metaRow(page, 'Số, ký hiệu')) === number, `the issued document keeps its number (${number})`);
  return { number, ms };
}

/// The value of the document page's metadata row `label`.
export async function metaRow(page, label) {
  return (await page.locator(`main tr:has(th:text-is("${label}")) td`).first().textContent()).trim();
}

/// Save the latest version of the document open in `page` (the versions table's last link)
/// to `path`.
export async function saveLatest(page, base, path) {
  const hrefs = await page.$$eval('main a[href*="/file?seq="]', (as) => as.map((a) => a.getAttribute('href')));
  const latest = hrefs.sort((a, b) => Number(a.split('seq=')[1]) - Number(b.split('seq=')[1])).pop();
  const res = await page.request.get(`${base}${latest}`);
  check(res.ok() && res.headers()['content-type'].includes('pdf'), `the latest version downloads as a PDF (${latest})`);
  writeFileSync(path, await res.body());
  return path;
}

/// axe-core (tests/e2e/node_modules/axe-core, installed by `npm ci`) run on the page as it is
/// now: every violation of impact *serious* or *critical* fails the story, naming the rule and
/// the first elements; *moderate* and *minor* ones are printed. `what` names the page.
let axeSource;
export async function axeClean(page, what) {
  const axePath = new URL('./node_modules/axe-core/axe.min.js', import.meta.url).pathname;
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    // Evaluated through the DevTools protocol: the site's Content-Security-Policy
    // (script-src 'self') rightly refuses an injected <script>, and stays on for the story.
    axeSource ??= readFileSync(axePath, 'utf8');
    await page.evaluate(axeSource);
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of violations.filter((v) => !serious.includes(v))) {
    console.log(`# axe ${v.impact} on ${what}: ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
  }
  check(
    serious.length === 0,
    `no serious axe-core violation on ${what}` +
      serious.map((v) => `\n  ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`).join(''),
  );
}
