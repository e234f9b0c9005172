'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const sections = { signin: $('signin'), queue: $('queue'), task: $('task') };
  let current = null;
  let expiry = null;

  const say = (text) => {
    $('status').textContent = text;
  };
  const show = (name) => {
    for (const [k, el] of Object.entries(sections))
      el.hidden = k !== name && !(name === 'task' && k === 'queue');
  };
  const api = async (method, path, body) => {
    const res = await fetch('/review/' + path, {
      method,
      credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { ok: res.ok, status: res.status, data };
  };
  const problem = (r) => (r.data && (r.data.detail || r.data.title)) || 'error ' + r.status;

  const clearTask = () => {
    current = null;
    if (expiry) clearTimeout(expiry);
    expiry = null;
    $('fields').replaceChildren();
    $('body').textContent = '';
    $('note').value = '';
    $('reason').selectedIndex = 0;
    sections.task.hidden = true;
  };

  const refreshQueue = async (focus) => {
    const r = await api('GET', 'tasks');
    if (r.status === 401) {
      clearTask();
      show('signin');
      if (focus) $('key').focus();
      return;
    }
    if (!r.ok) {
      say('Could not load the queue: ' + problem(r));
      return;
    }
    const free = r.data.tasks.filter((t) => !t.leased).length;
    $('queue-info').textContent =
      r.data.tasks.length + ' open task(s), ' + free + ' free to claim.';
    showQueue(r.data.tasks);
    if (!current) show('queue');
    if (focus) $('claim').focus();
  };

  // Times in the reviewer's own time zone, with the zone named.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const clock = new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  });
  const at = (iso) => clock.format(new Date(iso));
  const duration = (s) => {
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  };
  const cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
    if (cls) td.className = cls;
    return td;
  };
  // The queue: who (the task's pseudonym), where, what, how old, how long left; never content.
  const showQueue = (tasks) => {
    $('queue-zone').textContent = 'Oldest first. Times in your time zone: ' + zone + '.';
    $('queue-rows').replaceChildren(
      ...tasks.map((t) => {
        const tr = document.createElement('tr');
        tr.dataset.task = t.id;
        tr.append(
          cell(t.pseudonym),
          cell(t.country),
          cell(t.purpose),
          cell(t.mode === 'pre_send' ? 'pre-send' : 'post-delivery'),
          cell(duration(t.ageSeconds)),
          cell(
            t.slaSecondsLeft > 0 ? duration(t.slaSecondsLeft) : 'overdue',
            t.slaSecondsLeft > 0 ? '' : 'late',
          ),
          cell(at(t.dueAt)),
          cell(t.leased ? 'claimed' : 'free'),
        );
        return tr;
      }),
    );
    $('queue-list').hidden = tasks.length === 0;
  };

  const field = (label, value) => {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
    return [dt, dd];
  };

  const showTask = (t) => {
    current = t.id;
    $('task-title').textContent = t.mode === 'pre_send' ? 'Pre-send review' : 'Post-delivery audit';
    $('fields').replaceChildren(
      ...field('Subscriber (pseudonym)', t.pseudonym),
      ...field('Destination country', t.country),
      ...field('Carrier', t.carrier),
      ...field(
        'Sender id',
        t.senderId || (t.mode === 'pre_send' ? 'assigned from the pool at dispatch' : null),
      ),
      ...field('Sender signature', t.senderSignature),
      ...field('Encoding', t.encoding),
      ...field('Segments', t.segments),
      ...field('Delivery outcome', t.deliveryOutcome),
      ...field('Lease ends', at(t.leaseExpiresAt) + ' (' + zone + ')'),
    );
    $('body').textContent = t.body;
    show('task');
    // The content goes when the lease does.
    expiry = setTimeout(
      () => {
        clearTask();
        say('The lease ended; the task went back to the queue.');
        void refreshQueue(true);
      },
      Math.max(0, new Date(t.leaseExpiresAt).getTime() - Date.now()),
    );
    $('task-title').focus();
  };

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('key');
    const r = await api('POST', 'login', { apiKey: key.value });
    key.value = '';
    if (!r.ok) {
      say('Sign-in failed: ' + problem(r));
      key.focus();
      return;
    }
    say('Signed in.');
    await refreshQueue(true);
  });

  $('signout').addEventListener('click', async () => {
    if (current) await api('POST', 'tasks/' + encodeURIComponent(current) + '/release');
    clearTask();
    await api('POST', 'logout');
    say('Signed out.');
    show('signin');
    $('key').focus();
  });

  $('claim').addEventListener('click', async () => {
    if (current) {
      $('task-title').focus();
      return;
    }
    const claim = await api('POST', 'tasks/claim', {});
    if (claim.status === 404) {
      say('No task to claim right now.');
      await refreshQueue(true);
      return;
    }
    if (!claim.ok) {
      say('Could not claim a task: ' + problem(claim));
      return;
    }
    const task = await api('GET', 'tasks/' + encodeURIComponent(claim.data.taskId));
    if (!task.ok) {
      say('Could not read the task: ' + problem(task));
      return;
    }
    say('Task claimed.');
    showTask(task.data);
    void refreshQueue(false);
  });

  const decide = async (verdict) => {
    if (!current) return;
    const reasonCode = $('reason').value;
    if (verdict === 'reject' && reasonCode === 'ok') {
      say('Choose a reason for the rejection.');
      $('reason').focus();
      return;
    }
    const r = await api('POST', 'tasks/' + encodeURIComponent(current) + '/complete', {
      verdict,
      reasonCode,
      note: $('note').value,
    });
    clearTask();
    say(r.ok ? (verdict === 'approve' ? 'Approved.' : 'Rejected.') : 'Not recorded: ' + problem(r));
    await refreshQueue(true);
  };
  $('approve').addEventListener('click', () => void decide('approve'));
  $('reject').addEventListener('click', () => void decide('reject'));
  $('release').addEventListener('click', async () => {
    if (!current) return;
    await api('POST', 'tasks/' + encodeURIComponent(current) + '/release');
    clearTask();
    say('Released: the task is back in the queue.');
    await refreshQueue(true);
  });

  void refreshQueue(true);
})();
