/**
 * The approvals page's script, as a string (bundled with the function that serves it). Plain
 * browser JavaScript, no framework, no dependencies. Rules it keeps:
 * - the credential (a JWT or an API key, typed in) lives in `sessionStorage` only, never in
 *   `localStorage`, a cookie or a URL; signing out removes it;
 * - every value from the API is inserted as text (`textContent`, text nodes, attribute values set
 *   from code-chosen names); no HTML string is ever parsed (the page's CSP requires Trusted Types
 *   and allows no policy, so the browser would refuse one);
 * - it calls the approvals API on its own origin, relative to the page (`approvals` from
 *   `/governance/ui`), and shows the API's `message` when a call fails;
 * - it renders the fields an approval has and skips those it lacks (assessment, policy, evidence,
 *   quorum, group, escalation arrive with approval gates v2).
 * Written without template literals and escapes that a TypeScript template would alter; the unit
 * test parses it.
 */
export const appScript = String.raw`(() => {
  'use strict';

  const STORAGE_KEY = 'autonomy.approvals.credential';
  const HISTORY_STATUSES = ['approved', 'rejected', 'timed-out', 'refused'];
  const HISTORY_SHOWN = 20;
  const LIST_LIMIT = 100;
  const RISKS = ['low', 'medium', 'high'];
  const STATUSES = ['pending', 'approved', 'rejected', 'timed-out', 'refused'];

  const byId = (id) => document.getElementById(id);
  const ui = {
    signIn: byId('sign-in'),
    signInForm: byId('sign-in-form'),
    credential: byId('credential'),
    signInError: byId('sign-in-error'),
    session: byId('session'),
    who: byId('who'),
    refresh: byId('refresh'),
    signOut: byId('sign-out'),
    approvals: byId('approvals'),
    status: byId('status'),
    pending: byId('pending'),
    pendingCount: byId('pending-count'),
    history: byId('history'),
  };

  // Builds an element. Attribute names come from this script; values and children are data, set as
  // attribute values and text nodes, so no value is ever parsed as markup.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false || child === '') continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const present = (value) => value !== undefined && value !== null && value !== '';
  const text = (value) => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));
  const oneOf = (value, allowed, fallback) => (allowed.includes(value) ? value : fallback);

  function json(value) {
    try {
      return JSON.stringify(value, null, 2);
    } catch {
      return String(value);
    }
  }

  function when(value) {
    const date = new Date(value);
    return typeof value === 'string' && !Number.isNaN(date.getTime()) ? date.toISOString().slice(0, 19).replace('T', ' ') + ' UTC' : text(value);
  }

  function signed(number) {
    return typeof number === 'number' && Number.isFinite(number) ? (number >= 0 ? '+' : '') + number.toFixed(2) : text(number);
  }

  // --- credentials --------------------------------------------------------------------------

  const storedCredential = () => sessionStorage.getItem(STORAGE_KEY);
  const credentialHeaders = (credential) => (credential.startsWith('apk_') ? { 'x-api-key': credential } : { authorization: 'Bearer ' + credential });

  function base64UrlText(part) {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  }

  // Only a label for the header: the API verifies the credential, this page trusts nothing in it.
  function describeCredential(credential) {
    if (credential.startsWith('apk_')) return 'API key · tenant ' + (credential.split('_')[1] || '?');
    try {
      const claims = JSON.parse(base64UrlText(credential.split('.')[1] || ''));
      const roles = Array.isArray(claims.roles) ? claims.roles.map(text).join(', ') : '';
      return [present(claims.sub) ? text(claims.sub) : 'token', present(claims.tenant) ? 'tenant ' + text(claims.tenant) : '', roles].filter(Boolean).join(' · ');
    } catch {
      return 'bearer token';
    }
  }

  // --- the API --------------------------------------------------------------------------------

  // Calls the approvals API; never throws. A failure carries the API's message (error body
  // { error, message, correlationId }), or says why there was no reply.
  async function callApi(method, url, body) {
    const credential = storedCredential();
    if (!credential) return { ok: false, status: 401, message: 'Signed out' };
    const headers = Object.assign({ accept: 'application/json' }, credentialHeaders(credential));
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch (error) {
      return { ok: false, status: 0, message: 'The API could not be reached: ' + text(error && error.message) };
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.ok) return { ok: true, status: response.status, data };
    const message = data && typeof data.message === 'string' && data.message ? data.message : 'The API answered ' + response.status;
    return { ok: false, status: response.status, message, correlationId: data && typeof data.correlationId === 'string' ? data.correlationId : undefined };
  }

  const listApprovals = (status) => callApi('GET', 'approvals?status=' + encodeURIComponent(status) + '&limit=' + LIST_LIMIT);
  const approvalsOf = (reply) => (reply.ok && reply.data && reply.data.result && Array.isArray(reply.data.result.approvals) ? reply.data.result.approvals : []);
  const failureText = (reply) => reply.message + (reply.status ? ' (' + reply.status + (reply.correlationId ? ', correlation id ' + reply.correlationId : '') + ')' : '');

  // --- rendering ------------------------------------------------------------------------------

  function badge(label, kind) {
    return el('span', { class: 'badge ' + kind }, label);
  }

  function fact(term, value) {
    return present(value) ? [el('dt', {}, term), el('dd', {}, value)] : null;
  }

  function actionTitle(action) {
    return el(
      'h3',
      { class: 'action' },
      el('span', { class: 'engine' }, text(action.engine)),
      ' · ',
      el('span', { class: 'name' }, text(action.name)),
      ' → ',
      el('code', { class: 'target' }, text(action.target)),
    );
  }

  function assessmentBlock(assessment) {
    if (!assessment || typeof assessment !== 'object') return null;
    const summary = [
      typeof assessment.score === 'number' ? 'score ' + assessment.score.toFixed(2) : '',
      present(assessment.operation) ? 'operation ' + text(assessment.operation) : '',
      present(assessment.boundary) ? 'boundary ' + text(assessment.boundary) : '',
      present(assessment.route) ? 'route ' + text(assessment.route) : '',
      present(assessment.autonomyLevel) ? 'autonomy level ' + text(assessment.autonomyLevel) : '',
    ].filter(Boolean).join(' · ');
    const factors = Array.isArray(assessment.factors) ? assessment.factors.filter((factor) => factor && typeof factor === 'object') : [];
    const table =
      factors.length > 0
        ? el(
            'table',
            { class: 'factors' },
            el('thead', {}, el('tr', {}, el('th', {}, 'Factor'), el('th', {}, 'Value'), el('th', { class: 'num' }, 'Adds'), el('th', {}, 'Note'))),
            el(
              'tbody',
              {},
              factors.map((factor) =>
                el('tr', {}, el('td', {}, text(factor.name)), el('td', {}, text(factor.value)), el('td', { class: 'num' }, signed(factor.contribution)), el('td', {}, text(factor.note))),
              ),
            ),
          )
        : null;
    return el('section', { class: 'block risk' }, el('h4', {}, 'Risk assessment'), summary && el('p', { class: 'muted' }, summary), present(assessment.reason) && el('p', {}, text(assessment.reason)), table);
  }

  function policyBlock(policy) {
    if (!policy || typeof policy !== 'object') return null;
    const decision = oneOf(policy.decision, ['allow', 'deny'], 'unknown');
    const policies = Array.isArray(policy.policies) ? policy.policies.map(text) : [];
    const errors = Array.isArray(policy.errors) ? policy.errors.map(text) : [];
    return el(
      'section',
      { class: 'block' },
      el('h4', {}, 'Policy decision'),
      el('p', {}, badge(decision === 'allow' ? 'allowed' : decision === 'deny' ? 'denied' : text(policy.decision), 'decision-' + decision), present(policy.version) ? ' policy set v' + text(policy.version) : '', policy.breakGlass === true ? ' · break-glass' : ''),
      el('p', { class: 'muted' }, policies.length > 0 ? 'Deciding policies:' : 'No policy decided it.'),
      policies.length > 0 && el('ul', { class: 'plain policies' }, policies.map((id) => el('li', {}, el('code', {}, id)))),
      errors.length > 0 && el('p', { class: 'muted' }, 'Evaluation errors:'),
      errors.length > 0 && el('ul', { class: 'plain' }, errors.map((error) => el('li', {}, error))),
    );
  }

  function quorumBlock(approval) {
    const votes = Array.isArray(approval.votes) ? approval.votes.filter((vote) => vote && typeof vote === 'object') : [];
    const required = typeof approval.required === 'number' && approval.required > 0 ? approval.required : undefined;
    if (required === undefined && votes.length === 0) return null;
    const approvals = votes.filter((vote) => vote.decision === 'approve').length;
    return el(
      'section',
      { class: 'block' },
      el('h4', {}, 'Quorum'),
      el('p', {}, required === undefined ? null : el('progress', { max: required, value: Math.min(approvals, required) }), approvals + (required === undefined ? '' : ' of ' + required) + ' approval' + ((required === undefined ? approvals : required) === 1 ? '' : 's')),
      votes.length > 0 &&
        el(
          'ul',
          { class: 'plain votes' },
          votes.map((vote) => el('li', {}, el('strong', {}, text(vote.actor)), ' ', verb(vote.decision), present(vote.at) ? ' at ' + when(vote.at) : '', present(vote.reason) ? ': ' + text(vote.reason) : '')),
        ),
    );
  }

  function verb(decision) {
    return decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : text(decision);
  }

  function jsonBlock(title, value) {
    return present(value) ? el('details', { class: 'block', open: true }, el('summary', {}, title), el('pre', {}, json(value))) : null;
  }

  let formCount = 0;

  function decisionForm(approval) {
    formCount += 1;
    const id = 'reason-' + formCount;
    const reason = el('textarea', { id, rows: 2, maxlength: 2000, placeholder: 'Why approve or reject (recorded with the decision)' });
    const error = el('p', { class: 'error', role: 'alert' });
    const approve = el('button', { type: 'button', class: 'approve' }, 'Approve');
    const reject = el('button', { type: 'button', class: 'reject' }, 'Reject');
    const decide = async (decision) => {
      error.textContent = '';
      const why = reason.value.trim();
      if (!why) {
        error.textContent = 'A reason is required.';
        reason.focus();
        return;
      }
      approve.disabled = true;
      reject.disabled = true;
      const reply = await callApi('POST', 'approvals', { parameters: { approvalId: approval.approvalId, decision, reason: why } });
      if (!reply.ok) {
        if (reply.status === 401) return signOut('Your sign-in was refused: ' + reply.message);
        error.textContent = 'Not ' + (decision === 'approve' ? 'approved' : 'rejected') + ': ' + failureText(reply);
        approve.disabled = false;
        reject.disabled = false;
        return;
      }
      await refresh(text(approval.approvalId) + ' ' + (decision === 'approve' ? 'approved' : 'rejected') + '.');
    };
    approve.addEventListener('click', () => decide('approve'));
    reject.addEventListener('click', () => decide('reject'));
    return el('div', { class: 'decide' }, el('label', { for: id }, 'Reason (required)'), reason, el('div', { class: 'buttons' }, approve, reject), error);
  }

  function approvalCard(approval) {
    const action = approval.action && typeof approval.action === 'object' ? approval.action : {};
    const risk = oneOf(approval.risk, RISKS, 'unknown');
    const group = approval.group === 'admin' ? 'admins' : approval.group === 'approver' ? 'approvers' : present(approval.group) ? text(approval.group) : '';
    return el(
      'article',
      { class: 'card', 'data-approval-id': text(approval.approvalId) },
      el(
        'div',
        { class: 'card-head' },
        actionTitle(action),
        el(
          'div',
          { class: 'badges' },
          badge(text(approval.risk) + ' risk', 'risk-' + risk),
          present(approval.environment) && badge(text(approval.environment), approval.environment === 'prod' ? 'env-prod' : 'env'),
          group && badge('for ' + group, 'group'),
          approval.escalated === true && badge('escalated', 'escalated'),
        ),
      ),
      el(
        'dl',
        { class: 'facts' },
        fact('Requested by', text(approval.requestedBy)),
        fact('Requested', when(approval.requestedAt)),
        fact('Why', present(approval.reason) ? text(approval.reason) : '(no reason given)'),
        fact('Decide by', present(approval.deadline) ? when(approval.deadline) : ''),
        fact('Proposal', text(approval.proposalId)),
        fact('Approval', text(approval.approvalId)),
        fact('Execution', text(approval.executionArn)),
      ),
      el('div', { class: 'blocks' }, assessmentBlock(approval.assessment), policyBlock(approval.policy), quorumBlock(approval), jsonBlock('Parameters', action.parameters), jsonBlock('Evidence', approval.evidence)),
      decisionForm(approval),
    );
  }

  function renderPending(approvals) {
    ui.pendingCount.textContent = String(approvals.length);
    if (approvals.length === 0) return ui.pending.replaceChildren(el('p', { class: 'empty' }, 'Nothing waits for a decision.'));
    ui.pending.replaceChildren(...approvals.map(approvalCard));
  }

  // Who decided and why: each vote (gates v2), or the single decision of an older approval.
  function decisionList(approval) {
    const votes = Array.isArray(approval.votes) ? approval.votes.filter((vote) => vote && typeof vote === 'object') : [];
    const decisions = votes.length > 0 ? votes : present(approval.decidedBy) ? [{ actor: approval.decidedBy, decision: approval.status, reason: approval.decisionReason }] : [];
    if (decisions.length === 0) return null;
    return el(
      'ul',
      { class: 'plain decisions' },
      decisions.map((decision) => el('li', {}, el('strong', {}, text(decision.actor)), ' ', verb(decision.decision), present(decision.reason) ? ': ' + text(decision.reason) : '')),
    );
  }

  function renderHistory(approvals, problems) {
    const rows = approvals.map((approval) => {
      const action = approval.action && typeof approval.action === 'object' ? approval.action : {};
      const status = oneOf(approval.status, STATUSES, 'unknown');
      return el(
        'tr',
        { 'data-approval-id': text(approval.approvalId) },
        el('td', { class: 'mono' }, when(approval.decidedAt || approval.requestedAt)),
        el('td', {}, badge(text(approval.status), 'status-' + status)),
        el('td', {}, text(action.engine) + ' · ' + text(action.name)),
        el('td', {}, el('code', {}, text(action.target))),
        el('td', {}, badge(text(approval.risk), 'risk-' + oneOf(approval.risk, RISKS, 'unknown'))),
        el('td', {}, text(approval.requestedBy)),
        el('td', {}, decisionList(approval)),
      );
    });
    const table =
      rows.length > 0
        ? el(
            'div',
            { class: 'history' },
            el(
              'table',
              {},
              el('thead', {}, el('tr', {}, ['When', 'Status', 'Action', 'Target', 'Risk', 'Requested by', 'Decisions'].map((name) => el('th', {}, name)))),
              el('tbody', {}, rows),
            ),
          )
        : el('p', { class: 'empty' }, 'No decisions yet.');
    ui.history.replaceChildren(table, ...problems.map((problem) => el('p', { class: 'error', role: 'alert' }, problem)));
  }

  // --- flow -----------------------------------------------------------------------------------

  let generation = 0;

  async function refresh(note) {
    const mine = ++generation;
    ui.refresh.disabled = true;
    ui.status.textContent = 'Loading…';
    const [pending, ...history] = await Promise.all([listApprovals('pending'), ...HISTORY_STATUSES.map(listApprovals)]);
    if (mine !== generation || !storedCredential()) return;
    ui.refresh.disabled = false;
    const refused = [pending, ...history].find((reply) => reply.status === 401);
    if (refused) return signOut('Your sign-in was refused: ' + refused.message);
    if (pending.ok) renderPending(approvalsOf(pending));
    else ui.pending.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Pending approvals could not be loaded: ' + failureText(pending)));
    // A 400 names a status this API does not list (yet): that part of the history is simply empty.
    const problems = history.filter((reply) => !reply.ok && reply.status !== 400).map((reply) => 'Some decisions could not be loaded: ' + failureText(reply));
    const decided = history
      .flatMap(approvalsOf)
      .sort((a, b) => text(b.decidedAt || b.requestedAt).localeCompare(text(a.decidedAt || a.requestedAt)))
      .slice(0, HISTORY_SHOWN);
    renderHistory(decided, problems);
    ui.status.textContent = (note ? note + ' ' : '') + 'Updated ' + when(new Date().toISOString()) + '.';
  }

  function showSignedIn(credential) {
    ui.who.textContent = 'Signed in as ' + describeCredential(credential);
    ui.signIn.hidden = true;
    ui.session.hidden = false;
    ui.approvals.hidden = false;
  }

  function signOut(message) {
    generation += 1;
    sessionStorage.removeItem(STORAGE_KEY);
    ui.who.textContent = '';
    ui.pending.replaceChildren();
    ui.pendingCount.textContent = '';
    ui.history.replaceChildren();
    ui.status.textContent = '';
    ui.session.hidden = true;
    ui.approvals.hidden = true;
    ui.signIn.hidden = false;
    ui.signInError.textContent = message || '';
    ui.credential.focus();
  }

  ui.signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const credential = ui.credential.value.trim();
    ui.credential.value = '';
    ui.signInError.textContent = '';
    // Header values are visible ASCII; anything else is not a token or a key.
    if (!/^[\x21-\x7e]+$/.test(credential)) {
      ui.signInError.textContent = 'Paste a bearer token (JWT) or an API key (apk_…).';
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, credential);
    showSignedIn(credential);
    refresh();
  });
  ui.signOut.addEventListener('click', () => signOut(''));
  ui.refresh.addEventListener('click', () => refresh());

  const saved = storedCredential();
  if (saved) {
    showSignedIn(saved);
    refresh();
  } else {
    ui.credential.focus();
  }
})();
`;
