// xcert candidate exam page: login, start, answer, submit.
//
// The rule this page is built around: no saved answer is ever lost. Every change gets the
// next sequence number of its item and is written to localStorage (keyed by attempt) BEFORE
// it is sent; a sender sends the newest pending value of each item and forgets it only when
// the server acknowledged a seq at least as high. Network errors and 5xx are retried with
// backoff for as long as the page is open; a reload re-sends what is still pending.
'use strict';

(function () {
  const API = '/api/v1';
  const TOKEN_KEY = 'xcert.candidate.token';
  const ATTEMPT_KEY = 'xcert.candidate.attempt';
  const TICKET_KEY = 'xcert.candidate.ticket';
  const QUEUE_PREFIX = 'xcert.answers.';
  // The last attempt view (paper and saved answers) of this tab, to reopen the exam on a
  // reload while the server is unreachable (with the service worker's copy of the page).
  const VIEW_PREFIX = 'xcert.candidate.view.';
  const OFFSET_KEY = 'xcert.candidate.clock-offset';
  const TEXT_DEBOUNCE_MS = 1000;
  const REQUEST_TIMEOUT_MS = 15000;
  const MAX_BACKOFF_MS = 15000;
  const VIEW_REFRESH_MS = 60000;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- state
  let token = sessionStorage.getItem(TOKEN_KEY);
  let attempt = null; // the attempt view: id, status, deadline, paper, responses
  let deadlineMs = 0;
  let clockOffsetMs = Number(sessionStorage.getItem(OFFSET_KEY)) || 0; // server minus local
  let bestRoundTripMs = Infinity;
  let bestSampleAt = 0;
  let store = null; // {seqs: {item: seq}, pending: {item: {seq, response, due}}}
  let items = []; // [{item, number, section}]
  let sending = false;
  let sendTimer = null;
  let backoffMs = 0;
  let networkDown = false;
  let stopped = null; // null, or why saving has stopped for good
  let warned = {};
  let submitWanted = false;
  let submitting = false;
  let tickTimer = null;
  let refreshTimer = null;
  let pauseTimer = null;

  // ---------------------------------------------------------------- HTTP
  class HttpError extends Error {
    constructor(status, code, message, body, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.body = body;
      this.retryAfter = retryAfter;
    }
  }

  // Network failures, timeouts, 5xx, 408 and 429 are worth retrying; other 4xx are not.
  function retryable(error) {
    if (!(error instanceof HttpError)) return true;
    return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429;
  }

  async function api(method, path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const sentAt = Date.now();
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: 'no-store',
      });
    } catch (error) {
      throw new HttpError(0, 'network', String(error && error.message || error), null, null);
    } finally {
      clearTimeout(timer);
    }
    const receivedAt = Date.now();
    let data = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (data && typeof data.server_time === 'string') {
      learnClock(data.server_time, sentAt, receivedAt);
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      const retryAfter = Number(response.headers.get('Retry-After')) || null;
      throw new HttpError(response.status, error.code || 'http_' + response.status,
        error.message || response.statusText, data, retryAfter);
    }
    return { status: response.status, data };
  }

  // ---------------------------------------------------------------- clock
  // offset = server time at the middle of the round trip minus local time then; the sample
  // with the shortest round trip is the most precise, so it wins until a better one comes.
  function learnClock(serverTime, sentAt, receivedAt) {
    const server = Date.parse(serverTime);
    if (!Number.isFinite(server)) return;
    const roundTrip = Math.max(0, receivedAt - sentAt);
    // Older samples age (clocks drift): one counts its round trip plus 1 ms per 10 s of age.
    const agedBest = bestRoundTripMs + (receivedAt - bestSampleAt) / 10000;
    if (roundTrip <= agedBest) {
      bestRoundTripMs = roundTrip;
      bestSampleAt = receivedAt;
      clockOffsetMs = server - (sentAt + roundTrip / 2);
      sessionStorage.setItem(OFFSET_KEY, String(Math.round(clockOffsetMs)));
    }
  }

  function serverNow() {
    return Date.now() + clockOffsetMs;
  }

  async function syncClock() {
    try {
      await api('GET', '/time');
    } catch (_) {
      // The previous offset stays; the next sync tries again.
    }
  }

  // ---------------------------------------------------------------- views
  function show(view) {
    for (const id of ['view-login', 'view-start', 'view-exam', 'view-end']) {
      $(id).hidden = id !== view;
    }
    const exam = view === 'view-exam';
    $('clock').hidden = !exam;
    $('save-status').hidden = !(exam || view === 'view-end');
  }

  function banner(text, kind) {
    const element = $('banner');
    if (!text) {
      element.hidden = true;
      element.textContent = '';
      return;
    }
    element.textContent = text;
    element.className = 'banner ' + (kind || 'info');
    element.hidden = false;
  }

  function setError(id, text) {
    const element = $(id);
    element.textContent = text || '';
    element.hidden = !text;
  }

  function describe(error) {
    if (!(error instanceof HttpError) || error.status === 0) {
      return '无法连接服务器，请检查网络后重试。Cannot reach the server; check the network and try again.';
    }
    const words = {
      invalid_credentials: '准考证号或身份证号错误，请对照准考证核对。',
      too_many_requests: '尝试次数过多，请 ' + (error.retryAfter || 60) + ' 秒后再试。',
      sitting_closed: '本场考试已结束。',
      not_open: '考试尚未开始。',
      late_entry_closed: '已超过迟到入场时间，请联系考场工作人员。',
      attempt_paused: '考试已被监考暂停，请等待。',
      deadline_passed: '考试时间已到。',
      attempt_closed: '答卷已提交或已结束。',
      unauthenticated: '登录已失效，请重新登录。',
    };
    const chinese = words[error.code] || '出错了 (' + error.status + ')。';
    return chinese + ' ' + (error.message || '');
  }

  // ---------------------------------------------------------------- login
  function showLogin(message) {
    show('view-login');
    const ticket = sessionStorage.getItem(TICKET_KEY);
    if (ticket && !$('ticket').value) $('ticket').value = ticket;
    setError('login-error', message || '');
    ($('ticket').value ? $('id-number') : $('ticket')).focus();
  }

  async function login(event) {
    event.preventDefault();
    const ticket = $('ticket').value.trim();
    const idNumber = $('id-number').value.trim();
    if (!ticket || !idNumber) {
      setError('login-error', '请填写准考证号和身份证号。Enter both the admission ticket and the ID number.');
      return;
    }
    $('login-button').disabled = true;
    setError('login-error', '');
    try {
      token = null;
      const { data } = await api('POST', '/candidate/sessions', { ticket, id_number: idNumber });
      token = data.token;
      sessionStorage.setItem(TOKEN_KEY, token);
      sessionStorage.setItem(TICKET_KEY, ticket);
      $('id-number').value = '';
      await afterLogin();
    } catch (error) {
      setError('login-error', describe(error));
    } finally {
      $('login-button').disabled = false;
    }
  }

  function forgetSession() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ATTEMPT_KEY);
  }

  // Token expired or revoked: log in again; pending answers stay in localStorage and are
  // sent once the same attempt is open again.
  function sessionLost() {
    forgetSession();
    stopTimers();
    showLogin('登录已失效，请重新登录；未发送的答案仍保存在本机。Your session ended: log in again. Unsent answers are kept on this computer.');
  }

  async function afterLogin() {
    const attemptId = sessionStorage.getItem(ATTEMPT_KEY);
    if (attemptId) {
      try {
        const { data } = await api('GET', '/attempts/' + encodeURIComponent(attemptId));
        return openAttempt(data, false);
      } catch (error) {
        if (error.status === 401) return sessionLost();
        const cached = cachedView(attemptId);
        if (cached && retryable(error)) {
          // The server cannot be reached: reopen the exam from this tab's copy; the sender
          // goes on trying and the queue is sent once the server answers.
          return openAttempt(cached, true);
        }
        if (error.status !== 404) {
          // Offline at reload: show the paper we cannot fetch? No: ask to retry.
          show('view-start');
          setError('start-error', describe(error));
          return;
        }
        sessionStorage.removeItem(ATTEMPT_KEY);
      }
    }
    await showStart();
  }

  async function showStart() {
    show('view-start');
    setError('start-error', '');
    const facts = $('start-facts');
    facts.textContent = '';
    try {
      const { data } = await api('GET', '/candidate/me');
      $('start-title').textContent = data.sitting.title;
      $('who').textContent = data.name + ' · ' + data.ticket;
      const rows = [
        ['考生 Candidate', data.name],
        ['准考证号 Ticket', data.ticket],
        ['证书 Certificate', data.sitting.certificate_code + ' · ' + levelName(data.sitting.level)],
        ['时长 Duration', minutes(data.sitting.duration_secs + (data.extra_time_secs || 0))],
        ['考试时间 Window', localTime(data.sitting.opens_at) + ' – ' + localTime(data.sitting.closes_at)],
      ];
      if (data.room) rows.push(['考场 Room', data.room]);
      for (const [term, value] of rows) {
        const dt = document.createElement('dt');
        dt.textContent = term;
        const dd = document.createElement('dd');
        dd.textContent = value;
        facts.append(dt, dd);
      }
    } catch (error) {
      if (error.status === 401) return sessionLost();
      setError('start-error', describe(error));
    }
    $('start-button').focus();
  }

  function levelName(level) {
    return { junior: '初级 junior', intermediate: '中级 intermediate', senior: '高级 senior' }[level] || level;
  }

  function minutes(seconds) {
    return Math.round(seconds / 60) + ' 分钟 minutes';
  }

  function localTime(rfc3339) {
    const date = new Date(rfc3339);
    if (Number.isNaN(date.getTime())) return rfc3339;
    return date.toLocaleString('zh-CN', { hour12: false });
  }

  async function start() {
    $('start-button').disabled = true;
    setError('start-error', '');
    try {
      const { data } = await api('POST', '/attempts');
      openAttempt(data, false);
    } catch (error) {
      if (error.status === 401) return sessionLost();
      setError('start-error', describe(error));
    } finally {
      $('start-button').disabled = false;
    }
  }

  async function logout() {
    try { await api('DELETE', '/candidate/sessions/current'); } catch (_) { /* gone anyway */ }
    forgetSession();
    showLogin('');
  }

  // ---------------------------------------------------------------- local answer store
  function storeKey() {
    return QUEUE_PREFIX + attempt.id;
  }

  function loadStore() {
    let loaded = null;
    try { loaded = JSON.parse(localStorage.getItem(storeKey()) || 'null'); } catch (_) { loaded = null; }
    store = loaded && typeof loaded === 'object' ? loaded : {};
    store.seqs = store.seqs || {};
    store.pending = store.pending || {};
  }

  // Written before anything is sent. A full or unavailable localStorage is shown, not hidden.
  function persist() {
    try {
      localStorage.setItem(storeKey(), JSON.stringify(store));
      return true;
    } catch (error) {
      banner('无法在本机保存答案（浏览器存储不可用）；请保持网络连接。Answers cannot be kept on this computer (browser storage unavailable); stay online.', 'warn');
      return false;
    }
  }

  function pendingCount() {
    return Object.keys(store ? store.pending : {}).length;
  }

  function cachedView(attemptId) {
    try {
      return JSON.parse(sessionStorage.getItem(VIEW_PREFIX + attemptId) || 'null');
    } catch (_) {
      return null;
    }
  }

  function keepView() {
    try {
      sessionStorage.setItem(VIEW_PREFIX + attempt.id, JSON.stringify(attempt));
    } catch (_) {
      // Only the offline reload needs it; the answers themselves are in localStorage.
    }
  }

  // ---------------------------------------------------------------- the exam
  function openAttempt(view, offline) {
    attempt = view;
    attempt.responses = attempt.responses || {};
    sessionStorage.setItem(ATTEMPT_KEY, view.id);
    deadlineMs = Date.parse(view.deadline);
    loadStore();
    // Server copies: a pending local value wins only with a higher seq.
    const responses = view.responses || {};
    for (const [itemId, saved] of Object.entries(responses)) {
      const seq = Number(saved.seq) || 0;
      if ((store.seqs[itemId] || 0) < seq) store.seqs[itemId] = seq;
      const pending = store.pending[itemId];
      if (pending && pending.seq <= seq) delete store.pending[itemId];
    }
    persist();
    if (!offline) keepView();
    if (!offline && !$('who').textContent) {
      api('GET', '/candidate/me')
        .then(({ data }) => { $('who').textContent = data.name + ' · ' + data.ticket; })
        .catch(() => { /* only the top bar's name */ });
    }
    networkDown = Boolean(offline);
    renderPaper(view.paper);
    for (const entry of items) {
      const pending = store.pending[entry.item.id];
      const saved = responses[entry.item.id];
      const value = pending ? pending.response : saved ? saved.response : null;
      fillItem(entry, value);
      markAnswered(entry);
    }
    updateCount();
    if (isClosed(view.status)) {
      return showEnded(view.status);
    }
    show('view-exam');
    stopped = null;
    warned = {};
    startTimers();
    updateStatus();
    applyPause(view.status === 'paused');
    schedule(0);
  }

  function isClosed(status) {
    return status === 'submitted' || status === 'expired' || status === 'terminated';
  }

  function renderPaper(paper) {
    const root = $('paper');
    root.textContent = '';
    const nav = $('nav-list');
    nav.textContent = '';
    items = [];
    let number = 0;
    paper.sections.forEach((section, sectionIndex) => {
      const block = document.createElement('section');
      block.className = 'section';
      const heading = document.createElement('h2');
      heading.id = 'section-' + sectionIndex;
      heading.textContent = section.title;
      block.setAttribute('aria-labelledby', heading.id);
      block.append(heading);
      for (const item of section.items) {
        number += 1;
        const entry = { item, number, element: null, navButton: null };
        entry.element = renderItem(item, number);
        block.append(entry.element);
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'nav-item';
        button.textContent = String(number);
        button.addEventListener('click', () => focusItem(entry));
        li.append(button);
        nav.append(li);
        entry.navButton = button;
        items.push(entry);
      }
      root.append(block);
    });
  }

  function focusItem(entry) {
    entry.element.scrollIntoView({ block: 'start' });
    const first = entry.element.querySelector('input, textarea');
    if (first) first.focus({ preventScroll: true });
  }

  const TYPE_NAMES = {
    single: '单选题 single choice',
    multiple: '多选题 multiple choice',
    true_false: '判断题 true / false',
    fill_blank: '填空题 fill in the blanks',
    numeric: '数值题 number',
    short_answer: '简答题 short answer',
    essay: '论述题 essay',
    practical: '实操题 practical',
  };

  // Sanitized HTML from the server, parsed inert (a <template> loads no image), with paper
  // images fetched with the candidate's token and shown as blob: URLs.
  function html(markup) {
    const template = document.createElement('template');
    template.innerHTML = markup;
    // A link in a stem must not navigate the exam page away.
    for (const link of template.content.querySelectorAll('a[href]')) {
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
    }
    for (const img of template.content.querySelectorAll('img')) {
      const src = img.getAttribute('src') || '';
      img.removeAttribute('src');
      if (src.startsWith(API + '/attempts/')) loadImage(img, src);
    }
    return template.content;
  }

  async function loadImage(img, src) {
    for (let attemptNumber = 0; attemptNumber < 5; attemptNumber += 1) {
      try {
        const response = await fetch(src, { headers: { Authorization: 'Bearer ' + token } });
        if (response.ok) {
          img.src = URL.createObjectURL(await response.blob());
          return;
        }
        if (response.status < 500) return;
      } catch (_) { /* retry below */ }
      await new Promise((resolve) => setTimeout(resolve, 2000 * (attemptNumber + 1)));
    }
  }

  function renderItem(item, number) {
    const article = document.createElement('article');
    article.className = 'item';
    article.id = 'item-' + number;
    article.dataset.item = item.id;
    article.dataset.type = item.type;
    const head = document.createElement('div');
    head.className = 'item-head';
    const title = document.createElement('h3');
    title.id = 'item-title-' + number;
    title.textContent = '第 ' + number + ' 题';
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = (TYPE_NAMES[item.type] || item.type) + ' · ' + item.points + ' 分 points';
    head.append(title, meta);
    const stem = document.createElement('div');
    stem.className = 'stem';
    stem.id = 'item-stem-' + number;
    stem.append(html(item.stem));
    article.append(head, stem);
    article.setAttribute('aria-labelledby', title.id);
    const answer = document.createElement('div');
    answer.className = 'answer';
    const name = 'answer-' + number;
    const describedBy = stem.id;
    const change = () => onChange(entryOf(item.id), false);
    const typing = () => onChange(entryOf(item.id), true);
    if (item.type === 'single' || item.type === 'multiple') {
      const fieldset = choiceGroup(title.id, describedBy);
      for (const option of item.options) {
        const input = document.createElement('input');
        input.type = item.type === 'single' ? 'radio' : 'checkbox';
        input.name = name;
        input.value = option.id;
        fieldset.append(choice(input, option.id + '.', html(option.text)));
        input.addEventListener('change', change);
      }
      answer.append(fieldset);
    } else if (item.type === 'true_false') {
      const fieldset = choiceGroup(title.id, describedBy);
      for (const [value, label] of [['true', '对 True'], ['false', '错 False']]) {
        const input = document.createElement('input');
        input.type = 'radio';
        input.name = name;
        input.value = value;
        const text = document.createElement('span');
        text.textContent = label;
        fieldset.append(choice(input, '', text));
        input.addEventListener('change', change);
      }
      answer.append(fieldset);
    } else if (item.type === 'fill_blank') {
      const blanks = Math.max(1, Number(item.blanks) || 1);
      for (let index = 0; index < blanks; index += 1) {
        const label = document.createElement('label');
        label.className = 'blank';
        const caption = document.createElement('span');
        caption.textContent = '第 ' + (index + 1) + ' 空 Blank ' + (index + 1);
        const input = document.createElement('input');
        input.type = 'text';
        input.className = 'blank-input';
        input.autocomplete = 'off';
        input.spellcheck = false;
        input.setAttribute('aria-describedby', describedBy);
        input.addEventListener('input', typing);
        input.addEventListener('blur', change);
        label.append(caption, input);
        answer.append(label);
      }
    } else if (item.type === 'numeric') {
      const label = document.createElement('label');
      label.className = 'blank';
      const caption = document.createElement('span');
      caption.textContent = '答案（数字）Answer (a number)';
      const input = document.createElement('input');
      input.type = 'text';
      input.inputMode = 'decimal';
      input.className = 'numeric-input';
      input.autocomplete = 'off';
      input.setAttribute('aria-describedby', describedBy);
      input.addEventListener('input', typing);
      input.addEventListener('blur', change);
      const problem = document.createElement('span');
      problem.className = 'error inline';
      problem.setAttribute('role', 'alert');
      label.append(caption, input, problem);
      answer.append(label);
    } else {
      const label = document.createElement('label');
      label.className = 'blank';
      const caption = document.createElement('span');
      caption.textContent = '作答 Your answer';
      const textarea = document.createElement('textarea');
      textarea.rows = item.type === 'short_answer' ? 4 : 10;
      textarea.maxLength = 20000;
      textarea.setAttribute('aria-describedby', describedBy);
      textarea.addEventListener('input', typing);
      textarea.addEventListener('blur', change);
      label.append(caption, textarea);
      answer.append(label);
    }
    const state = document.createElement('p');
    state.className = 'item-state';
    state.setAttribute('aria-live', 'polite');
    article.append(answer, state);
    return article;
  }

  function choiceGroup(labelledBy, describedBy) {
    const fieldset = document.createElement('fieldset');
    fieldset.className = 'choices';
    fieldset.setAttribute('aria-labelledby', labelledBy);
    fieldset.setAttribute('aria-describedby', describedBy);
    return fieldset;
  }

  function choice(input, prefix, content) {
    const label = document.createElement('label');
    label.className = 'choice';
    const mark = document.createElement('span');
    mark.className = 'label';
    mark.textContent = prefix;
    const text = document.createElement('span');
    text.className = 'text';
    text.append(content);
    label.append(input, mark, text);
    return label;
  }

  function entryOf(itemId) {
    return items.find((entry) => entry.item.id === itemId);
  }

  // The response the inputs show now, as the API takes it; undefined when the input is not
  // a valid answer yet (a number being typed).
  function readItem(entry) {
    const element = entry.element;
    const type = entry.item.type;
    if (type === 'single') {
      const checked = element.querySelector('input:checked');
      return checked ? checked.value : null;
    }
    if (type === 'multiple') {
      const values = [...element.querySelectorAll('input:checked')].map((input) => input.value).sort();
      return values.length ? values : null;
    }
    if (type === 'true_false') {
      const checked = element.querySelector('input:checked');
      return checked ? checked.value === 'true' : null;
    }
    if (type === 'fill_blank') {
      const values = [...element.querySelectorAll('.blank-input')].map((input) => input.value);
      return values.some((value) => value.trim() !== '') ? values : null;
    }
    if (type === 'numeric') {
      const input = element.querySelector('.numeric-input');
      const problem = element.querySelector('.error.inline');
      const text = input.value.trim().replace(/，/g, ',').replace(',', '.');
      if (text === '') {
        problem.textContent = '';
        return null;
      }
      const value = Number(text);
      if (!Number.isFinite(value) || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
        problem.textContent = '请输入数字 Enter a number';
        return undefined;
      }
      problem.textContent = '';
      return value;
    }
    const textarea = element.querySelector('textarea');
    return textarea.value === '' ? null : textarea.value;
  }

  function fillItem(entry, value) {
    const element = entry.element;
    const type = entry.item.type;
    if (type === 'single') {
      for (const input of element.querySelectorAll('input')) input.checked = input.value === value;
    } else if (type === 'multiple') {
      const chosen = Array.isArray(value) ? value : [];
      for (const input of element.querySelectorAll('input')) input.checked = chosen.includes(input.value);
    } else if (type === 'true_false') {
      for (const input of element.querySelectorAll('input')) {
        input.checked = value !== null && value !== undefined && input.value === String(value);
      }
    } else if (type === 'fill_blank') {
      const values = Array.isArray(value) ? value : [];
      element.querySelectorAll('.blank-input').forEach((input, index) => {
        input.value = typeof values[index] === 'string' ? values[index] : '';
      });
    } else if (type === 'numeric') {
      element.querySelector('.numeric-input').value = typeof value === 'number' ? String(value) : '';
    } else {
      element.querySelector('textarea').value = typeof value === 'string' ? value : '';
    }
  }

  function isAnswered(value) {
    if (value === null || value === undefined) return false;
    if (Array.isArray(value)) return value.some((part) => String(part).trim() !== '');
    if (typeof value === 'string') return value.trim() !== '';
    return true;
  }

  function markAnswered(entry) {
    const value = readItem(entry);
    const answered = isAnswered(value);
    entry.answered = answered;
    entry.navButton.classList.toggle('answered', answered);
    entry.navButton.setAttribute('aria-label',
      '第 ' + entry.number + ' 题，' + (answered ? '已答 answered' : '未答 unanswered'));
    entry.element.classList.toggle('answered', answered);
  }

  function updateCount() {
    const answered = items.filter((entry) => entry.answered).length;
    $('answered-count').textContent = '已答 ' + answered + ' / ' + items.length + ' answered';
  }

  // A change of an input: the next seq of the item, written locally, then sent.
  function onChange(entry, typing) {
    if (!entry || stopped) return;
    const value = readItem(entry);
    markAnswered(entry);
    updateCount();
    if (value === undefined) return;
    const itemId = entry.item.id;
    const pending = store.pending[itemId];
    const due = Date.now() + (typing ? TEXT_DEBOUNCE_MS : 0);
    if (pending && JSON.stringify(pending.response) === JSON.stringify(value)) {
      // Same value again (blur after typing): send it now rather than later.
      if (!typing && pending.due > Date.now()) {
        pending.due = Date.now();
        persist();
        schedule(0);
      }
      return;
    }
    // Monotonic per item, and the server-corrected time in ms when that is higher: across
    // two computers (a candidate moved after a crash) the later answer wins, never an older
    // one that was stuck in the first computer's queue.
    const seq = Math.max((store.seqs[itemId] || 0) + 1, Math.floor(serverNow()));
    store.seqs[itemId] = seq;
    store.pending[itemId] = { seq, response: value, due };
    persist();
    updateStatus();
    schedule(typing ? TEXT_DEBOUNCE_MS : 0);
  }

  // ---------------------------------------------------------------- the sender
  function schedule(delayMs) {
    if (stopped) return;
    if (sendTimer) clearTimeout(sendTimer);
    sendTimer = setTimeout(() => { sendTimer = null; pump(); }, Math.max(0, delayMs));
  }

  async function pump() {
    if (sending || stopped || !attempt) return;
    const now = Date.now();
    const ids = Object.keys(store.pending);
    if (ids.length === 0) {
      updateStatus();
      if (submitWanted) doSubmit();
      return;
    }
    const ready = ids.filter((id) => (store.pending[id].due || 0) <= now);
    if (ready.length === 0) {
      const next = Math.min(...ids.map((id) => store.pending[id].due || 0));
      schedule(next - now);
      return;
    }
    sending = true;
    updateStatus();
    let failed = null;
    let failedItem = null;
    for (const itemId of ready) {
      const entry = store.pending[itemId];
      if (!entry) continue;
      try {
        const { data } = await api('PUT',
          '/attempts/' + encodeURIComponent(attempt.id) + '/responses/' + encodeURIComponent(itemId),
          { seq: entry.seq, response: entry.response });
        const acknowledged = Number(data && data.seq) || 0;
        if ((store.seqs[itemId] || 0) < acknowledged) store.seqs[itemId] = acknowledged;
        const current = store.pending[itemId];
        if (current && current.seq <= acknowledged) delete store.pending[itemId];
        persist();
        if (acknowledged === entry.seq) {
          attempt.responses[itemId] = { seq: entry.seq, response: entry.response };
          keepView();
        }
        networkDown = false;
        backoffMs = 0;
      } catch (error) {
        failed = error;
        failedItem = itemId;
        break;
      }
    }
    sending = false;
    if (failed) {
      handleSendError(failed, failedItem);
    } else {
      schedule(0);
    }
    updateStatus();
  }

  function handleSendError(error, itemId) {
    if (error.status === 409 && (error.code === 'deadline_passed' || error.code === 'attempt_closed')) {
      stopSaving(error.code);
      return;
    }
    if (error.status === 409 && error.code === 'attempt_paused') {
      applyPause(true);
      backoffMs = 5000;
      schedule(backoffMs);
      return;
    }
    if (error.status === 401) {
      sessionLost();
      return;
    }
    if (retryable(error)) {
      networkDown = error.status === 0;
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs ? backoffMs * 2 : 1000);
      const wait = error.retryAfter ? error.retryAfter * 1000 : backoffMs;
      schedule(wait * (0.8 + Math.random() * 0.4));
      return;
    }
    // 404 or 422: this value can never be stored; say so, forget it, go on with the others.
    const entry = entryOf(itemId);
    banner('第 ' + (entry ? entry.number : '?') + ' 题的答案未被服务器接受，请重新作答：' + describe(error), 'warn');
    delete store.pending[itemId];
    persist();
    schedule(0);
  }

  function updateStatus() {
    const element = $('save-status');
    if (!store) return;
    const count = pendingCount();
    let state;
    let text;
    if (stopped && count > 0) {
      state = 'stopped';
      text = '已停止保存，' + count + ' 题答案未送达 saving stopped: ' + count + ' not sent';
    } else if (count === 0 && !sending) {
      state = 'saved';
      text = '已保存 saved';
    } else if (networkDown) {
      state = 'offline';
      text = '离线，答案保存在本机 offline — answers kept on this computer, will be sent when the network is back (' + count + ')';
    } else {
      state = 'saving';
      text = '保存中 saving… (' + count + ')';
    }
    element.dataset.state = state;
    element.dataset.pending = String(count);
    element.textContent = text;
  }

  function stopSaving(code) {
    stopped = code;
    if (sendTimer) clearTimeout(sendTimer);
    disableInputs();
    updateStatus();
    refreshView().then(() => {
      if (attempt && isClosed(attempt.status)) showEnded(attempt.status);
      else if (code === 'deadline_passed') showEnded('expired');
    });
  }

  function disableInputs() {
    for (const input of $('paper').querySelectorAll('input, textarea')) input.disabled = true;
    $('submit-button').disabled = true;
  }

  // ---------------------------------------------------------------- time
  function startTimers() {
    stopTimers();
    tickTimer = setInterval(tick, 250);
    refreshTimer = setInterval(() => { syncClock(); refreshView(); }, VIEW_REFRESH_MS);
    syncClock();
    tick();
  }

  function stopTimers() {
    if (tickTimer) clearInterval(tickTimer);
    if (refreshTimer) clearInterval(refreshTimer);
    if (sendTimer) clearTimeout(sendTimer);
    if (pauseTimer) clearInterval(pauseTimer);
    tickTimer = refreshTimer = sendTimer = pauseTimer = null;
  }

  function formatRemaining(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const hours = Math.floor(total / 3600);
    const minutesPart = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    const pad = (number) => String(number).padStart(2, '0');
    return (hours ? hours + ':' : '') + pad(minutesPart) + ':' + pad(seconds);
  }

  function tick() {
    if (!attempt) return;
    const clock = $('clock');
    if (attempt.status === 'paused') {
      clock.textContent = '已暂停 paused';
      clock.dataset.remaining = '';
      return;
    }
    const remaining = deadlineMs - serverNow();
    clock.textContent = '剩余 ' + formatRemaining(remaining) + ' left';
    clock.dataset.remaining = String(Math.max(0, Math.round(remaining / 1000)));
    clock.classList.toggle('low', remaining <= 5 * 60000);
    if (remaining <= 5 * 60000 && remaining > 60000 && !warned.five) {
      warned.five = true;
      banner('还剩 5 分钟，请检查答案。5 minutes left: check your answers.', 'warn');
    }
    if (remaining <= 60000 && remaining > 0 && !warned.one) {
      warned.one = true;
      banner('还剩 1 分钟！答案会自动保存。1 minute left! Your answers are saved automatically.', 'warn');
    }
    if (remaining <= 0 && !warned.zero) {
      warned.zero = true;
      timeUp();
    }
  }

  // At zero: inputs stop, what is pending is still sent (the server allows a short grace),
  // then the end is shown.
  function timeUp() {
    disableInputs();
    banner('考试时间到，答题已停止。Time is up: answering has stopped.', 'warn');
    const deadline = Date.now() + 10000;
    const finish = () => {
      if (pendingCount() > 0 && !stopped && Date.now() < deadline) {
        schedule(0);
        setTimeout(finish, 500);
        return;
      }
      refreshView().then(() => {
        if (attempt && attempt.status === 'in_progress' && deadlineMs - serverNow() > 0) {
          // The deadline moved (extra time): answering goes on.
          warned = {};
          for (const input of $('paper').querySelectorAll('input, textarea')) input.disabled = false;
          $('submit-button').disabled = false;
          banner('', '');
          return;
        }
        stopped = stopped || 'deadline_passed';
        showEnded(attempt && isClosed(attempt.status) ? attempt.status : 'expired');
      });
    };
    finish();
  }

  async function refreshView() {
    if (!attempt) return;
    try {
      const { data } = await api('GET', '/attempts/' + encodeURIComponent(attempt.id));
      const wasPaused = attempt.status === 'paused';
      attempt.status = data.status;
      attempt.deadline = data.deadline;
      deadlineMs = Date.parse(data.deadline);
      keepView();
      if (deadlineMs - serverNow() > 5 * 60000) warned.five = false;
      if (deadlineMs - serverNow() > 60000) warned.one = false;
      if (data.status === 'paused' || wasPaused) applyPause(data.status === 'paused');
    } catch (error) {
      if (error.status === 401) sessionLost();
    }
  }

  function applyPause(paused) {
    attempt.status = paused ? 'paused' : (attempt.status === 'paused' ? 'in_progress' : attempt.status);
    $('view-exam').classList.toggle('paused', paused);
    if (paused) {
      banner('考试已被监考暂停，计时停止；答案保留在本机，恢复后自动发送。The exam is paused by the staff; the clock is stopped and your answers are kept.', 'warn');
      if (!pauseTimer) pauseTimer = setInterval(refreshView, 5000);
    } else {
      if (pauseTimer) clearInterval(pauseTimer);
      pauseTimer = null;
      if ($('banner').textContent.includes('暂停')) banner('', '');
      schedule(0);
    }
  }

  // ---------------------------------------------------------------- submit
  function openSubmitDialog() {
    const unanswered = items.filter((entry) => !entry.answered);
    $('submit-summary').textContent = unanswered.length
      ? '还有 ' + unanswered.length + ' 题未作答 (' + unanswered.length + ' unanswered):'
      : '所有题目均已作答。Every question is answered.';
    const list = $('submit-unanswered');
    list.textContent = '';
    for (const entry of unanswered) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = '第 ' + entry.number + ' 题';
      button.addEventListener('click', () => { $('submit-dialog').close(); focusItem(entry); });
      li.append(button);
      list.append(li);
    }
    $('submit-progress').textContent = '';
    $('submit-confirm').disabled = false;
    $('submit-dialog').showModal();
  }

  function confirmSubmit() {
    $('submit-confirm').disabled = true;
    submitWanted = true;
    // Flush: everything pending is due now.
    for (const id of Object.keys(store.pending)) store.pending[id].due = 0;
    persist();
    $('submit-progress').textContent = pendingCount()
      ? '正在发送答案… Sending answers first…'
      : '交卷中… Submitting…';
    schedule(0);
  }

  async function doSubmit() {
    if (submitting || !submitWanted) return;
    submitting = true;
    $('submit-progress').textContent = '交卷中… Submitting…';
    try {
      const { data } = await api('POST', '/attempts/' + encodeURIComponent(attempt.id) + '/submit');
      submitWanted = false;
      attempt.status = data.status;
      showEnded(data.status);
    } catch (error) {
      if (error.status === 401) {
        submitting = false;
        return sessionLost();
      }
      if (retryable(error)) {
        networkDown = error.status === 0;
        $('submit-progress').textContent = '网络中断，恢复后自动交卷。The network is down; the exam is submitted as soon as it is back.';
        setTimeout(() => { submitting = false; doSubmit(); }, 3000);
        updateStatus();
        return;
      }
      submitWanted = false;
      $('submit-progress').textContent = describe(error);
      $('submit-confirm').disabled = false;
    }
    submitting = false;
  }

  function showEnded(status) {
    stopTimers();
    stopped = stopped || 'closed';
    if ($('submit-dialog').open) $('submit-dialog').close();
    const titles = {
      submitted: '已交卷 Submitted',
      expired: '考试时间已到 Time is up',
      terminated: '考试已被终止 The exam was ended by the staff',
    };
    $('end-title').textContent = titles[status] || titles.expired;
    $('end-text').textContent = status === 'submitted'
      ? '你的答卷已提交，可以离开考位。Your answers are submitted; you may leave.'
      : '截止前保存的答案已记录。Answers saved before the deadline are kept.';
    const count = pendingCount();
    $('end-pending').hidden = count === 0;
    $('end-pending').textContent = count
      ? count + ' 题答案在答卷结束后才送达，未被接受。' + count + ' answers reached the server only after the attempt had ended and were not accepted.'
      : '';
    document.body.dataset.attemptStatus = status;
    banner('', '');
    show('view-end');
    updateStatus();
    if (attempt) sessionStorage.removeItem(VIEW_PREFIX + attempt.id);
    if (count === 0 && attempt) {
      try { localStorage.removeItem(storeKey()); } catch (_) { /* nothing to free */ }
    }
    showResult();
  }

  // ---------------------------------------------------------------- result
  // After the attempt has closed: the published result (GET /candidate/result), or a line
  // saying it is not published yet. Before publication the server says nothing else.
  function points(value) {
    return typeof value === 'number' ? String(value) : '';
  }

  async function showResult() {
    const panel = $('result');
    const facts = $('result-facts');
    const ban = $('result-ban');
    facts.replaceChildren();
    facts.hidden = true;
    ban.hidden = true;
    let reply;
    try {
      reply = await api('GET', '/candidate/result');
    } catch (error) {
      if (error instanceof HttpError && error.code === 'not_published') {
        $('result-status').textContent = '成绩尚未公布，请稍后登录查看。Results are not published yet; log in again later.';
        panel.hidden = false;
      } else {
        panel.hidden = true;
      }
      return;
    }
    const result = reply.data;
    $('result-status').textContent = result.passed
      ? '合格 Passed'
      : '不合格 Not passed';
    const rows = [
      ['总分 Total', points(result.total) + ' / ' + points(result.max)],
      ['合格分 Pass score', points(result.pass_score)],
      ['名次 Rank', result.rank + ' / ' + result.of],
      ['公布时间 Published', localTime(result.published_at)],
    ];
    for (const [term, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      facts.append(dt, dd);
    }
    facts.hidden = false;
    if (result.ban) {
      const b = result.ban;
      ban.textContent = b.lifted
        ? '按末位淘汰规则的禁考已解除。The retake ban under the bottom rule was lifted' +
          (b.lift_reason ? ': ' + b.lift_reason : '') + '.'
        : '按末位 ' + b.percent + '% 淘汰规则（第 ' + b.rank + ' 名 / 共 ' + b.of + ' 人，末 ' + b.cut +
          ' 名），' + b.until + ' 之前不能再次报考本证书本等级。' +
          ' Under the bottom ' + b.percent + '% rule (rank ' + b.rank + ' of ' + b.of + '; the lowest ' +
          b.cut + ' are banned) you may not sit this certificate and level again before ' + b.until +
          '. ' + b.reason;
      ban.hidden = false;
    }
    panel.hidden = false;
    showAwards();
  }

  // ---------------------------------------------------------------- certificates and credits
  // The person's issued certificates (every sitting) with a printable view and the public
  // verification page, and their credit account. The print page is opened with window.open so
  // it finds this tab's token in its copy of sessionStorage; no token goes into a URL.
  async function showAwards() {
    const section = $('awards');
    const list = $('awards-list');
    let certificates;
    let account;
    try {
      certificates = (await api('GET', '/candidate/certificates')).data;
      account = (await api('GET', '/candidate/credits')).data;
    } catch (_) {
      section.hidden = true;
      return;
    }
    list.replaceChildren();
    for (const certificate of certificates) {
      const item = document.createElement('li');
      const title = document.createElement('span');
      title.textContent = certificate.certificate.title + ' · ' + certificate.number +
        (certificate.status === 'revoked' ? ' · 已撤销 revoked' : '');
      const print = document.createElement('button');
      print.type = 'button';
      print.className = 'secondary';
      print.textContent = '打印 Print';
      print.addEventListener('click', () => { window.open(certificate.print_url, '_blank'); });
      const verify = document.createElement('a');
      verify.href = certificate.verify_url;
      verify.target = '_blank';
      verify.rel = 'noopener';
      verify.textContent = '验证 Verify';
      item.append(title, ' ', print, ' ', verify);
      list.append(item);
    }
    $('awards-credits').textContent = '学分余额 Credit balance: ' + account.balance +
      ' (' + account.entries.length + ' 笔记录 postings)';
    section.hidden = certificates.length === 0 && account.entries.length === 0;
  }

  async function downloadCredits() {
    try {
      const reply = await fetch('/api/v1/candidate/credits?format=csv', {
        headers: { Authorization: 'Bearer ' + token },
      });
      if (!reply.ok) return;
      const url = URL.createObjectURL(await reply.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = 'xcert-credits.csv';
      document.body.append(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
    } catch (_) { /* offline: the button can be pressed again */ }
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    $('login-form').addEventListener('submit', login);
    $('start-button').addEventListener('click', start);
    $('logout-button').addEventListener('click', logout);
    $('submit-button').addEventListener('click', openSubmitDialog);
    $('submit-cancel').addEventListener('click', () => { submitWanted = false; $('submit-dialog').close(); });
    $('submit-confirm').addEventListener('click', confirmSubmit);
    $('awards-csv').addEventListener('click', downloadCredits);
    window.addEventListener('online', () => { backoffMs = 0; schedule(0); });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && attempt && !stopped) {
        syncClock();
        refreshView();
        schedule(0);
      }
    });
    // The page's shell for reloads during a network cut (secure contexts only: HTTPS or
    // localhost; elsewhere the browser has no service workers and the page works without).
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/ui/sw.js', { scope: '/' }).catch(() => {});
      navigator.serviceWorker.ready.then(() => { document.body.dataset.offlineReady = 'yes'; });
    }
    if (token) {
      afterLogin();
    } else {
      showLogin('');
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
