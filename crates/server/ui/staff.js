// xcert staff page: login, then read-only views of what the API offers the caller's role.
'use strict';

(function () {
  const API = '/api/v1';
  const TOKEN_KEY = 'xcert.staff.token';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY);
  let me = null;
  let history = [];

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (_) {
      throw { status: 0, message: '无法连接服务器 Cannot reach the server' };
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw {
        status: response.status,
        code: error.code,
        message: error.message || response.statusText,
        retryAfter: response.headers.get('Retry-After'),
      };
    }
    return data;
  }

  function setError(id, text) {
    $(id).textContent = text || '';
    $(id).hidden = !text;
  }

  function describe(error) {
    if (error.status === 0) return error.message;
    if (error.code === 'invalid_credentials') return '用户名或密码错误。The username or password is wrong.';
    if (error.code === 'too_many_requests') {
      return '尝试次数过多，请 ' + (error.retryAfter || 60) + ' 秒后再试。Too many attempts; try again in ' + (error.retryAfter || 60) + ' s.';
    }
    return '出错了 (' + error.status + ') ' + (error.message || '');
  }

  // The views of each role: [label, path] with {org} and {site} from /staff/me.
  const VIEWS = {
    admin: [
      ['机构 Organizations', '/organizations'],
      ['考点 Sites', '/sites'],
      ['工作人员 Staff', '/staff'],
      ['审计日志 Audit log', '/audit-log'],
    ],
    auditor: [
      ['机构 Organizations', '/organizations'],
      ['考点 Sites', '/sites'],
      ['工作人员 Staff', '/staff'],
      ['审计日志 Audit log', '/audit-log'],
    ],
    org: [
      ['证书 Certificates', '/organizations/{org}/certificates'],
      ['题库 Banks', '/organizations/{org}/banks'],
      ['考试场次 Sittings', '/organizations/{org}/sittings'],
      ['工作人员 Staff', '/organizations/{org}/staff'],
    ],
    site: [
      ['考试场次 Sittings', '/sites/{site}/sittings'],
      ['教师 Teachers', '/sites/{site}/teachers'],
      ['工作人员 Staff', '/sites/{site}/staff'],
    ],
    proctor: [['我的考场 My rooms', '/proctor/rooms']],
    grader: [['阅卷 Marking', '#marking']],
  };

  // Rows of these lists lead on to lists of their own.
  function drillDowns(path) {
    if (/\/sittings$/.test(path)) {
      return [
        ['报名 Registrations', (row) => '/sittings/' + row.id + '/registrations'],
        ['考场 Rooms', (row) => '/sittings/' + row.id + '/rooms'],
        ['阅卷设置 Marking set-up', (row) => '/sittings/' + row.id + '/marking'],
        ['阅卷进度 Marking progress', (row) => '/sittings/' + row.id + '/marking/progress'],
      ];
    }
    if (path === '/organizations') {
      return [
        ['证书 Certificates', (row) => '/organizations/' + row.id + '/certificates'],
        ['考试场次 Sittings', (row) => '/organizations/' + row.id + '/sittings'],
      ];
    }
    if (path === '/sites') {
      return [['考试场次 Sittings', (row) => '/sites/' + row.id + '/sittings']];
    }
    return [];
  }

  function showLogin(message) {
    $('view-login').hidden = false;
    $('view-console').hidden = true;
    $('logout-button').hidden = true;
    $('who').textContent = '';
    setError('login-error', message || '');
    $('username').focus();
  }

  async function login(event) {
    event.preventDefault();
    $('login-button').disabled = true;
    setError('login-error', '');
    try {
      token = null;
      const data = await api('POST', '/staff/sessions', {
        username: $('username').value.trim(),
        password: $('password').value,
      });
      token = data.token;
      sessionStorage.setItem(TOKEN_KEY, token);
      $('password').value = '';
      await openConsole();
    } catch (error) {
      setError('login-error', describe(error));
    } finally {
      $('login-button').disabled = false;
    }
  }

  async function logout() {
    try { await api('DELETE', '/staff/sessions/current'); } catch (_) { /* ends anyway */ }
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin('');
  }

  async function openConsole() {
    try {
      me = await api('GET', '/staff/me');
    } catch (error) {
      token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin(error.status === 401 ? '登录已失效，请重新登录。Your session ended; log in again.' : describe(error));
    }
    $('view-login').hidden = true;
    $('view-console').hidden = false;
    $('logout-button').hidden = false;
    $('who').textContent = me.username + ' · ' + me.role;
    const nav = $('views');
    nav.textContent = '';
    const views = VIEWS[me.role] || [];
    for (const [label, template] of views) {
      const path = template.replace('{org}', me.organization || '').replace('{site}', me.site || '');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      button.addEventListener('click', () => {
        history = [];
        for (const other of nav.querySelectorAll('button')) other.removeAttribute('aria-current');
        button.setAttribute('aria-current', 'true');
        load(label, path);
      });
      nav.append(button);
    }
    if (views.length === 0) {
      $('table-title').textContent = '此角色暂无只读视图 No read-only view for this role yet';
      return;
    }
    nav.querySelector('button').click();
  }

  async function load(label, path) {
    setError('console-error', '');
    $('table-title').textContent = label;
    $('table-back').hidden = history.length === 0;
    const area = $('table-area');
    if (path === '#marking') return markingScreen(area);
    area.textContent = '加载中… Loading…';
    try {
      const data = await api('GET', path);
      area.textContent = '';
      if (/\/marking\/progress$/.test(path)) area.append(progressView(data));
      else area.append(table(data, path));
    } catch (error) {
      area.textContent = '';
      if (error.status === 401) return showLogin('登录已失效，请重新登录。Your session ended; log in again.');
      setError('console-error', describe(error));
    }
  }

  function cell(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }

  function table(data, path) {
    const rows = Array.isArray(data) ? data : (data && Array.isArray(data.items) ? data.items : [data]);
    if (rows.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = '（空）Nothing here yet.';
      return empty;
    }
    const columns = [];
    for (const row of rows) {
      for (const key of Object.keys(row || {})) if (!columns.includes(key)) columns.push(key);
    }
    const links = drillDowns(path);
    const element = document.createElement('table');
    const head = element.createTHead().insertRow();
    for (const column of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = column;
      head.append(th);
    }
    if (links.length) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = '查看 View';
      head.append(th);
    }
    const body = element.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const column of columns) tr.insertCell().textContent = cell(row[column]);
      if (links.length) {
        const td = tr.insertCell();
        for (const [label, to] of links) {
          const button = document.createElement('button');
          button.type = 'button';
          button.className = 'link';
          button.textContent = label;
          button.addEventListener('click', () => {
            history.push([$('table-title').textContent, path]);
            load(label + ' · ' + cell(row.title || row.name || row.code || row.id), to(row));
          });
          td.append(button);
        }
      }
    }
    return element;
  }

  // Marking progress: one table per item, one per grader.
  function progressView(data) {
    const box = document.createElement('div');
    const summary = document.createElement('p');
    summary.className = 'count';
    const settings = data.settings || {};
    summary.textContent = (settings.double_marking
      ? '双评，分差阈值 ' + settings.threshold + ' 分 Double marking, threshold ' + settings.threshold + ' points'
      : '单评 Single marking') + ' · ' + (data.complete ? '已全部评完 Complete' : '未评完 Not complete')
      + (data.published ? ' · 成绩已发布 Results published' : '');
    box.append(summary);
    const items = document.createElement('h2');
    items.textContent = '试题 Items';
    box.append(items, table(data.items || [], 'progress-items'));
    const graders = document.createElement('h2');
    graders.textContent = '阅卷人 Graders';
    box.append(graders, table(data.graders || [], 'progress-graders'));
    return box;
  }

  // The grader's screen: take the next script, read stem, rubric and answer, give a score
  // per criterion. The server hands out scripts blind (no candidate identity) and leased.
  function markingScreen(area) {
    area.textContent = '';
    const box = document.createElement('section');
    box.className = 'marking';
    const intro = document.createElement('p');
    intro.textContent = '领取下一份答卷，按评分细则逐项给分（最多两位小数）。Take the next script and score each rubric criterion (at most two decimals).';
    const take = document.createElement('button');
    take.type = 'button';
    take.className = 'primary';
    take.textContent = '领取下一份 Take next script';
    const status = document.createElement('p');
    status.className = 'count';
    status.setAttribute('role', 'status');
    const script = document.createElement('div');
    box.append(intro, take, status, script);
    area.append(box);

    async function takeNext() {
      take.disabled = true;
      setError('console-error', '');
      status.textContent = '加载中… Loading…';
      script.textContent = '';
      try {
        const task = await api('GET', '/marking/tasks/next');
        if (!task) {
          status.textContent = '暂无待评答卷。Nothing to mark right now.';
          return;
        }
        status.textContent = '';
        script.append(taskForm(task));
        const first = script.querySelector('input');
        if (first) first.focus();
      } catch (error) {
        status.textContent = '';
        if (error.status === 401) return showLogin('登录已失效，请重新登录。Your session ended; log in again.');
        setError('console-error', describe(error));
      } finally {
        take.disabled = false;
      }
    }

    function taskForm(task) {
      const form = document.createElement('form');
      form.className = 'marking-task';
      form.noValidate = true;
      const head = document.createElement('p');
      head.className = 'count';
      head.textContent = (task.sitting.title || '') + ' · ' + task.item.id + ' · ' + task.item.points + ' 分 points'
        + ' · 租约至 lease until ' + new Date(task.lease_expires_at).toLocaleTimeString();
      const stem = document.createElement('div');
      stem.className = 'stem';
      // Sanitized HTML rendered by the server from the bank's Markdown (no raw HTML passes).
      stem.innerHTML = task.item.stem;
      const answerTitle = document.createElement('h2');
      answerTitle.textContent = '考生作答 Answer';
      const answer = document.createElement('pre');
      answer.className = 'response';
      answer.textContent = task.response === null ? '（未作答）No answer.' : (typeof task.response === 'string' ? task.response : JSON.stringify(task.response));
      const rubricTitle = document.createElement('h2');
      rubricTitle.textContent = '评分细则 Rubric' + (task.scaled ? '（已按本卷分值折算 scaled to this paper’s points）' : '');
      const list = document.createElement('ol');
      list.className = 'criteria';
      const inputs = [];
      for (const criterion of task.criteria) {
        const li = document.createElement('li');
        const text = document.createElement('div');
        text.innerHTML = criterion.text;
        const label = document.createElement('label');
        const id = 'criterion-' + criterion.number;
        label.htmlFor = id;
        label.textContent = '得分 Score (0–' + criterion.max + ')';
        const input = document.createElement('input');
        input.id = id;
        input.type = 'number';
        input.min = '0';
        input.max = String(criterion.max);
        input.step = '0.01';
        input.required = true;
        input.inputMode = 'decimal';
        inputs.push(input);
        li.append(text, label, input);
        list.append(li);
      }
      const commentLabel = document.createElement('label');
      commentLabel.htmlFor = 'marking-comment';
      commentLabel.textContent = '评语（可选）Comment (optional)';
      const comment = document.createElement('textarea');
      comment.id = 'marking-comment';
      comment.rows = 2;
      comment.maxLength = 2000;
      const problem = document.createElement('p');
      problem.className = 'error';
      problem.setAttribute('role', 'alert');
      problem.hidden = true;
      const submit = document.createElement('button');
      submit.type = 'submit';
      submit.className = 'primary';
      submit.textContent = '提交评分 Submit marks';
      form.append(head, stem, answerTitle, answer, rubricTitle, list, commentLabel, comment, problem, submit);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        problem.hidden = true;
        const scores = inputs.map((input) => input.value.trim() === '' ? null : Number(input.value));
        if (scores.some((score) => score === null || Number.isNaN(score))) {
          problem.textContent = '请为每一项给分。Give a score for every criterion.';
          problem.hidden = false;
          return;
        }
        submit.disabled = true;
        try {
          const body = { criteria: scores };
          if (comment.value.trim()) body.comment = comment.value.trim();
          const result = await api('POST', '/marking/tasks/' + encodeURIComponent(task.task) + '/marks', body);
          status.textContent = '已提交，总分 ' + result.total + '。Recorded, total ' + result.total + '.';
          script.textContent = '';
          take.focus();
        } catch (error) {
          if (error.status === 401) return showLogin('登录已失效，请重新登录。Your session ended; log in again.');
          problem.textContent = describe(error);
          problem.hidden = false;
        } finally {
          submit.disabled = false;
        }
      });
      return form;
    }

    take.addEventListener('click', takeNext);
  }

  function back() {
    const previous = history.pop();
    if (previous) load(previous[0], previous[1]);
  }

  function init() {
    $('login-form').addEventListener('submit', login);
    $('logout-button').addEventListener('click', logout);
    $('back-button').addEventListener('click', back);
    if (token) openConsole();
    else showLogin('');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
