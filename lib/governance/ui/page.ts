/**
 * The approvals page's HTML and stylesheet, as strings (bundled with the function that serves them).
 * The HTML holds no data and no inline script or style: lib/governance/ui/app-script.ts fills it in
 * with text nodes only. Its files are linked relative to the page (`?asset=app.js` from
 * `/governance/ui`), so the page works under any base path a custom domain maps it to.
 */

/** The page (`GET /governance/ui`). */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Approvals · Autonomy Plane</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="?asset=app.css">
<script src="?asset=app.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span><h1>Approvals</h1></div>
  <div id="session" class="session" hidden>
    <span id="who" class="who"></span>
    <button id="refresh" type="button" class="quiet">Refresh</button>
    <button id="sign-out" type="button" class="quiet">Sign out</button>
  </div>
</header>
<main>
  <section id="sign-in" class="panel sign-in" aria-labelledby="sign-in-title">
    <h2 id="sign-in-title">Sign in</h2>
    <form id="sign-in-form" autocomplete="off" novalidate>
      <label for="credential">Bearer token (JWT) or API key</label>
      <input id="credential" name="credential" type="password" autocomplete="off" spellcheck="false">
      <p class="hint">Kept in this tab's session storage only: signing out or closing the tab forgets it.</p>
      <button type="submit" class="primary">Sign in</button>
      <p id="sign-in-error" class="error" role="alert"></p>
    </form>
  </section>
  <section id="approvals" hidden>
    <p id="status" class="status" role="status" aria-live="polite"></p>
    <h2>Pending <span id="pending-count" class="count"></span></h2>
    <div id="pending" class="cards"></div>
    <h2>Recent decisions</h2>
    <div id="history"></div>
  </section>
</main>
<noscript><p class="panel">This page needs JavaScript.</p></noscript>
</body>
</html>
`;

/** The stylesheet (`GET /governance/ui?asset=app.css`). */
export const appStyles = `:root {
  --ink: #1d2330; --muted: #5d6678; --line: #dfe3ea; --page: #f4f6f9; --card: #fff;
  --accent: #2f5bd3; --ok: #1e7b46; --ok-bg: #e3f4ea; --bad: #b3261e; --bad-bg: #fbe7e6;
  --warn: #8a5a00; --warn-bg: #fff2d6; --info-bg: #e8eefc;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  color: var(--ink); background: var(--page);
}
[hidden] { display: none !important; }
* { box-sizing: border-box; }
body { margin: 0; }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1rem; margin: 0; }
h4 { font-size: .8rem; margin: 0 0 .35rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85em; }
pre { margin: .3rem 0 0; padding: .6rem .7rem; background: #f6f7fa; border: 1px solid var(--line); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 18rem; overflow: auto; }
.top { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .8rem 1.5rem;
  background: var(--card); border-bottom: 1px solid var(--line); }
.brand { display: flex; align-items: center; gap: .6rem; }
.logo { width: 1.4rem; height: 1.4rem; border-radius: 5px; background: linear-gradient(135deg, var(--accent), #7a4fd6); }
.session { display: flex; align-items: center; gap: .6rem; }
.who { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
main { max-width: 1100px; margin: 0 auto; padding: .5rem 1.5rem 3rem; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.2rem 1.4rem; }
.sign-in { max-width: 34rem; margin: 2rem auto; }
.sign-in form { display: grid; gap: .5rem; }
label { font-weight: 600; font-size: .9rem; }
input, textarea { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid #c5cbd6; border-radius: 6px; background: #fff; }
input:focus, textarea:focus, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
button { font: inherit; font-weight: 600; padding: .45rem .95rem; border-radius: 6px; border: 1px solid transparent; cursor: pointer; }
button:disabled { opacity: .55; cursor: progress; }
button.primary { background: var(--accent); color: #fff; justify-self: start; }
button.quiet { background: transparent; border-color: var(--line); color: var(--ink); }
button.approve { background: var(--ok); color: #fff; }
button.reject { background: #fff; color: var(--bad); border-color: var(--bad); }
.hint, .muted { color: var(--muted); font-size: .85rem; margin: 0; }
.error { color: var(--bad); font-weight: 600; margin: 0; min-height: 1em; overflow-wrap: anywhere; }
.error:empty { display: none; }
.status { color: var(--muted); font-size: .85rem; margin: .8rem 0 0; min-height: 1.2em; }
.count { display: inline-block; min-width: 1.6rem; padding: 0 .45rem; border-radius: 999px; background: var(--info-bg);
  color: var(--accent); font-size: .85rem; text-align: center; }
.empty { color: var(--muted); background: var(--card); border: 1px dashed var(--line); border-radius: 10px; padding: 1rem 1.2rem; }
.cards { display: grid; gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.2rem;
  box-shadow: 0 1px 2px rgba(20, 30, 60, .05); display: grid; gap: .85rem; }
.card-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; flex-wrap: wrap; }
.action { overflow-wrap: anywhere; }
.action .engine { color: var(--muted); font-weight: 500; }
.action .target { background: var(--info-bg); padding: .05rem .35rem; border-radius: 4px; font-size: .9em; }
.badges { display: flex; gap: .35rem; flex-wrap: wrap; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-size: .78rem; font-weight: 600;
  background: #eef0f4; color: var(--ink); white-space: nowrap; }
.risk-high, .status-rejected, .status-refused, .decision-deny, .env-prod { background: var(--bad-bg); color: var(--bad); }
.risk-medium, .status-timed-out, .escalated { background: var(--warn-bg); color: var(--warn); }
.risk-low, .status-approved, .decision-allow { background: var(--ok-bg); color: var(--ok); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; font-size: .9rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.blocks { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: .85rem 1.2rem; }
.block { border-top: 1px solid var(--line); padding-top: .6rem; min-width: 0; }
.block.risk { grid-column: 1 / -1; }
.factors td, .factors th { overflow-wrap: break-word; }
.factors td:first-child { white-space: nowrap; font-weight: 600; }
.block p { margin: .2rem 0; font-size: .9rem; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-size: .85rem; }
th, td { text-align: left; padding: .3rem .45rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.history { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
.history table { font-size: .85rem; }
.history td.mono { white-space: nowrap; }
progress { width: 10rem; height: .7rem; vertical-align: middle; margin-right: .4rem; accent-color: var(--ok); }
ul.plain { margin: .2rem 0; padding-left: 1.1rem; font-size: .9rem; }
.history ul.decisions { margin: 0; padding-left: 0; list-style: none; font-size: .85rem; }
details summary { cursor: pointer; font-size: .8rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.decide { display: grid; gap: .45rem; border-top: 1px solid var(--line); padding-top: .75rem; }
.decide .buttons { display: flex; gap: .5rem; }
`;
