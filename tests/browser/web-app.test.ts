// The web app in a real headless Chromium (Debian's chromium, driven by puppeteer-core)
// against a real three-observatory federation: sign in, see the night, book a chain across
// three observatories, watch a second browser see it live, lose a race and book a suggested
// alternative, cancel, and parse the iCalendar feed. Screenshots of every step go to
// test-screenshots/ (git-ignored).
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import ICAL from 'ical.js';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { at, dayFromToday } from '../support/slots.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.resolve('test-screenshots');
const DAY = 3; // the night from 18:00 UTC of today + 3 to 18:00 UTC of the day after
const NIGHT_DATE = new Date(dayFromToday(DAY)).toISOString().slice(0, 10);
const CHAIN = [
  { telescopeId: 'la-palma-gtc', hour: 4 },
  { telescopeId: 'atacama-ut1', hour: 5 },
  { telescopeId: 'mauna-kea-keck1', hour: 6 },
];
const slotOf = (telescopeId: string, hour: number) => `${telescopeId}|${Date.parse(at(DAY + 1, hour))}`;

describe('web app in headless Chromium', function () {
  this.timeout(240_000);
  let federation: LocalFederation;
  let browser: Browser;
  let userDataDir: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
    mkdirSync(SHOTS, { recursive: true });
    federation = await LocalFederation.start();
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'observatory-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      userDataDir,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
    await federation?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function signedIn(nodeId: string, scientistId: string, width = 1400): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport({ width, height: 1000 });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    await page.goto(`${federation.url(nodeId)}/`, { waitUntil: 'load' });
    // Enter submits the form whatever the layout; a click at coordinates could land beside a
    // button that the clock line moved while it synchronised.
    await page.type('#token', federation.tokens.scientists[scientistId]!);
    await page.keyboard.press('Enter');
    try {
      await page.waitForSelector('#night-date', { timeout: 60_000 });
      // The header no longer changes once the clock is synchronised: later clicks land where aimed.
      await page.waitForSelector('.federation-time', { timeout: 60_000 });
    } catch (error) {
      await shot(page, `failed-sign-in-${nodeId}-${scientistId}`).catch(() => undefined);
      const text = await page.$eval('body', (body) => body.textContent ?? '').catch(() => '(no body)');
      throw new Error(`${nodeId}: not signed in (${String(error)}); page says: ${text.slice(0, 500)}; ${problems.join('; ') || 'no page errors'}`);
    }
    await page.$eval('#night-date', (el, value) => {
      // Runs in the page: a date input and its change event, as a person's pick would fire.
      (el as unknown as { value: string }).value = value;
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, NIGHT_DATE);
    await page.waitForSelector(`[data-slot="${slotOf('la-palma-wht', 2)}"][data-state="free"]`, { timeout: 30_000 });
    await page.waitForSelector('.live.live', { timeout: 30_000 });
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  it('books a three-observatory chain, a second browser sees it live, a lost race offers alternatives, cancel, iCalendar', async () => {
    const vera = await signedIn('atacama', 'vera-rubin');
    await shot(vera, '01-signed-in-night-grid');
    const carl = await signedIn('mauna-kea', 'carl-sagan');

    for (const { telescopeId, hour } of CHAIN) await vera.click(`[data-slot="${slotOf(telescopeId, hour)}"]`);
    await vera.waitForSelector('.selection');
    await shot(vera, '02-chain-selected');
    await vera.click('.selection button.primary');
    await vera.waitForSelector('.outcome.confirmed', { timeout: 30_000 });
    const fairness = await vera.$eval('.outcome .fairness', (el) => el.textContent);
    expect(Date.parse(fairness!)).to.be.a('number').and.not.NaN;
    // 201 comes once the commit decision is durable; an observatory may not have acknowledged it yet.
    const states = await vera.$$eval('.outcome .part', (cells) => cells.map((c) => c.textContent));
    expect(states).to.have.length(3);
    for (const state of states) expect(['confirming', 'confirmed']).to.include(state);
    await vera.waitForSelector(`[data-slot="${slotOf('atacama-ut1', 5)}"][data-state="mine"]`);
    await shot(vera, '03-chain-confirmed');

    // The second browser was not reloaded: the event streams turned the slots booked.
    for (const { telescopeId, hour } of CHAIN) await carl.waitForSelector(`[data-slot="${slotOf(telescopeId, hour)}"][data-state="booked"]`, { timeout: 20_000 });
    await shot(carl, '04-second-browser-sees-booked-live');

    // Carl selects two slots; someone else books one of them before he presses Book.
    await carl.click(`[data-slot="${slotOf('atacama-ut2', 7)}"]`);
    await carl.click(`[data-slot="${slotOf('mauna-kea-subaru', 7)}"]`);
    const rival = await federationClient(federation, 'la-palma').post('/bookings', { scientistId: 'edwin-hubble', items: [{ telescopeId: 'mauna-kea-subaru', start: at(DAY + 1, 7), end: at(DAY + 1, 8) }] });
    expect(rival.status).to.equal(201);
    await carl.waitForSelector(`[data-slot="${slotOf('mauna-kea-subaru', 7)}"][data-state="booked"]`, { timeout: 20_000 });
    await carl.click('.selection button.primary');
    await carl.waitForSelector('.outcome.refused .suggestion', { timeout: 30_000 });
    expect(await carl.$eval('.outcome .taken', (el) => el.textContent)).to.contain('mauna-kea-subaru');
    expect(await carl.$$eval('.outcome .part', (cells) => cells.map((c) => c.textContent))).to.satisfy((s: string[]) => s.every((state) => state === 'released' || state === 'releasing'));
    await shot(carl, '05-conflict-with-alternatives');
    const suggestion = await carl.$eval('.outcome .suggestion', (el) => el.textContent);
    await carl.click('.outcome .suggestion');
    await carl.waitForSelector('.outcome.confirmed', { timeout: 30_000 });
    const booked = await carl.$$eval('.outcome.confirmed li', (items) => items.map((i) => i.textContent));
    expect(booked.some((text) => suggestion!.includes(text!.split(':')[0]!.trim()))).to.equal(true);
    await shot(carl, '06-alternative-booked');

    // Vera cancels her chain by the link the API gave, and her calendar says so.
    await vera.waitForSelector('li.booking.confirmed button.cancel');
    await vera.click('li.booking.confirmed button.cancel');
    await vera.waitForSelector('li.booking.cancelled', { timeout: 30_000 });
    await vera.waitForSelector(`[data-slot="${slotOf('atacama-ut1', 5)}"][data-state="free"]`, { timeout: 20_000 });
    await shot(vera, '07-cancelled');
    const calendarUrl = await vera.$eval('a.calendar', (a) => (a as unknown as { href: string }).href);
    const ics = await vera.evaluate(async (url) => (await fetch(url)).text(), calendarUrl);
    const calendar = new ICAL.Component(ICAL.parse(ics));
    const events = calendar.getAllSubcomponents('vevent').map((e) => new ICAL.Event(e));
    const chainEvents = events.filter((e) => CHAIN.some((c) => e.startDate.toJSDate().toISOString() === at(DAY + 1, c.hour)));
    expect(chainEvents).to.have.length(3);
    expect(chainEvents.map((e) => e.component.getFirstPropertyValue('status'))).to.deep.equal(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(ics).to.match(/^BEGIN:VCALENDAR\r\n/).and.match(/END:VCALENDAR\r\n$/);
  });

  it('is usable at phone width: the grid scrolls inside its box and the page does not', async () => {
    const phone = await signedIn('la-palma', 'vera-rubin', 390);
    const widths = await phone.$eval('html', (html) => ({ page: html.scrollWidth, viewport: html.clientWidth }));
    expect(widths.page, 'no sideways scrolling of the whole page').to.be.at.most(widths.viewport + 1);
    await shot(phone, '08-phone-width');
  });

  it('serves the API reference at /docs rendered by Swagger UI from /openapi.json, with no request leaving the node', async () => {
    const page = await (await browser.createBrowserContext()).newPage();
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(federation.url('atacama')) && !request.url().startsWith('data:')) foreign.push(request.url());
    });
    await page.goto(`${federation.url('atacama')}/docs`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.textContent));
    expect(paths.join(' ')).to.contain('/bookings');
    expect(foreign).to.deep.equal([]);
    await shot(page, '09-api-reference');
  });
});
