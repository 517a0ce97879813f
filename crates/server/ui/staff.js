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
    grader: [],
  };

  // Rows of these lists lead on to lists of their own.
  function drillDowns(path) {
    if (/\/sittings$/.test(path)) {
      return [
        ['报名 Registrations', (row) => '/sittings/' + row.id + '/registrations'],
        ['考场 Rooms', (row) => '/sittings/' + row.id + '/rooms'],
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
    area.textContent = '加载中… Loading…';
    try {
      const data = await api('GET', path);
      area.textContent = '';
      area.append(table(data, path));
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
