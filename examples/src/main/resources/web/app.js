// The i2vgen serve page: plain JavaScript against the server's own API (no libraries, works offline).
'use strict';

const $ = id => document.getElementById(id);
const state = { token: localStorage.getItem('i2vgen-token') || '', model: null, file: null, current: null, follow: null, urls: [] };

function authHeaders() { return state.token ? { Authorization: 'Bearer ' + state.token } : {}; }

/** fetch with the token; a 401 shows the token field. */
async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (response.status === 401) {
    $('token-section').hidden = false;
    throw new Error((await response.json()).error);
  }
  return response;
}

function showError(message) {
  $('form-error').textContent = message || '';
  $('form-error').hidden = !message;
}

// ---- the form, built from GET /v1/models ----

async function loadModel() {
  try {
    const response = await api('/v1/models');
    state.model = (await response.json()).data[0];
  } catch (e) {
    $('model-info').textContent = 'cannot load the model description: ' + e.message;
    return;
  }
  const m = state.model;
  $('model-info').textContent = `${m.family} (${m.pipeline}${m.demo ? ', built-in demo' : ''}) on ${m.device}, ${m.dtype}`;
  for (const field of m.fields) {
    if (field.name === 'image' || field.name === 'seed') continue;
    const parent = field.advanced ? $('advanced-fields') : (field.name.includes('prompt') ? $('text-fields') : $('main-fields'));
    parent.appendChild(fieldElement(field));
  }
  $('generate').disabled = false;
  loadJobs();
  const linked = location.hash.slice(1);   // a job's own address: /#<id>
  if (/^[0-9a-f]{32}$/.test(linked)) follow(linked);
}

function fieldElement(field) {
  const wrapper = document.createElement('div');
  const id = 'field-' + field.name;
  const input = document.createElement(field.name.includes('prompt') ? 'textarea' : 'input');
  input.id = id;
  input.name = field.name;
  input.title = field.description;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = field.name + (field.required ? ' *' : '');
  if (field.type === 'boolean') {
    input.type = 'checkbox';
    input.checked = field.default === true;
    wrapper.className = 'check';
    wrapper.append(input, label);
    return wrapper;
  }
  if (input.tagName === 'INPUT') {
    input.type = field.type === 'integer' || field.type === 'number' ? 'number' : 'text';
    if (field.type === 'integer') input.step = '1';
    if (field.type === 'number') input.step = 'any';
  }
  if (field.default !== null && field.default !== undefined) input.value = String(field.default);
  input.placeholder = field.required ? 'required' : '';
  wrapper.append(label, input);
  return wrapper;
}

function formData() {
  const data = new FormData();
  if (state.file) data.append('image', state.file, state.file.name);
  for (const input of $('job-form').querySelectorAll('[name]')) {
    if (input.name === 'image') continue;
    if (input.type === 'checkbox') { if (input.checked) data.append(input.name, 'true'); continue; }
    if (input.value.trim() !== '') data.append(input.name, input.value.trim());
  }
  return data;
}

// ---- the image: choose or drop, with a preview ----

function useFile(file) {
  if (!file) return;
  state.file = file;
  $('preview').src = URL.createObjectURL(file);
  $('preview').hidden = false;
  $('drop-hint').hidden = true;
}

$('image').addEventListener('change', () => useFile($('image').files[0]));
const zone = $('drop-zone');
zone.addEventListener('dragover', e => { e.preventDefault(); zone.classList.add('dragging'); });
zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
zone.addEventListener('drop', e => {
  e.preventDefault();
  zone.classList.remove('dragging');
  useFile(e.dataTransfer.files[0]);
});

$('random-seed').addEventListener('click', () => {
  $('field-seed').value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
});

$('token-save').addEventListener('click', () => {
  state.token = $('token').value.trim();
  localStorage.setItem('i2vgen-token', state.token);
  $('token-section').hidden = true;
  if (!state.model) loadModel(); else loadJobs();
});

// ---- a job: submit, follow its events, show the video ----

$('job-form').addEventListener('submit', async e => {
  e.preventDefault();
  showError('');
  $('generate').disabled = true;
  try {
    const response = await api('/v1/videos', { method: 'POST', body: formData() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error);
    follow(body.id);
  } catch (err) {
    showError(err.message);
    $('generate').disabled = false;
  }
});

$('cancel').addEventListener('click', () => {
  if (state.current) api('/v1/videos/' + state.current, { method: 'DELETE' }).catch(err => showError(err.message));
});

/** Reads the job's Server-Sent Events through fetch (so that the token header goes along) until it is finished. */
async function follow(id) {
  if (state.follow) state.follow.abort();
  const controller = new AbortController();
  state.follow = controller;
  state.current = id;
  history.replaceState(null, '', '#' + id);
  $('cancel').hidden = false;
  $('video').hidden = true;
  $('downloads').hidden = true;
  try {
    const response = await api(`/v1/videos/${id}/events`, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
    if (!response.ok) throw new Error((await response.json()).error);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer.slice(0, end).split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).trimStart()).join('\n');
        buffer = buffer.slice(end + 2);
        if (data) showJob(JSON.parse(data));
      }
    }
  } catch (err) {
    if (err.name !== 'AbortError') showError(err.message);
  }
}

function showJob(job) {
  if (job.id !== state.current) return;
  const p = job.progress;
  $('progress').max = Math.max(1, p.total);
  $('progress').value = job.status === 'succeeded' ? p.total : p.step;
  const what = job.status === 'running' ? `running: ${job.stage || 'starting'}, step ${p.step} of ${p.total}`
      : job.status === 'queued' ? `queued (position ${job.queue_position})` : job.status;
  $('status').textContent = `Video ${job.id.slice(0, 8)}: ${what}`;
  $('eta').textContent = job.eta_seconds != null ? `about ${Math.ceil(job.eta_seconds)} s left` : '';
  const finished = ['succeeded', 'failed', 'cancelled'].includes(job.status);
  if (!finished) return;
  $('cancel').hidden = true;
  $('generate').disabled = false;
  if (job.status === 'failed') showError(job.error);
  if (job.status === 'succeeded') showVideo(job);
  loadJobs();
}

/** The video in the page (a blob when the server needs a token: a video element cannot send headers). */
async function showVideo(job) {
  let mp4 = job.content_url, gif = job.gif_url;
  if (state.token) {
    state.urls.forEach(URL.revokeObjectURL);
    mp4 = URL.createObjectURL(await (await api(job.content_url)).blob());
    gif = URL.createObjectURL(await (await api(job.gif_url)).blob());
    state.urls = [mp4, gif];
  }
  const video = $('video');
  video.src = mp4;
  video.hidden = false;
  video.play().catch(() => { /* autoplay refused: the controls are there */ });
  $('download-mp4').href = mp4;
  $('download-mp4').download = `i2vgen-${job.id}.mp4`;
  $('download-gif').href = gif;
  $('download-gif').download = `i2vgen-${job.id}.gif`;
  $('downloads').hidden = false;
}

// ---- this server's recent jobs ----

async function loadJobs() {
  let jobs;
  try {
    jobs = (await (await api('/v1/videos')).json()).data;
  } catch (e) {
    return;
  }
  const list = $('jobs');
  list.replaceChildren(...jobs.map(job => {
    const item = document.createElement('li');
    const badge = document.createElement('span');
    badge.className = 'badge ' + job.status;
    badge.textContent = job.status;
    const text = document.createElement('span');
    text.className = 'job-text';
    const prm = job.parameters;
    text.textContent = `${new Date(job.created_at).toLocaleTimeString()} · ${prm.width}×${prm.height}, ${prm.steps} steps, seed ${prm.seed}`
        + (prm.prompt ? ' · ' + prm.prompt : '');
    item.append(badge, text);
    item.title = job.error || job.id;
    item.addEventListener('click', () => { showError(''); follow(job.id); });
    return item;
  }));
}

setInterval(() => { if (!document.hidden && state.model) loadJobs(); }, 5000);
loadModel();
