// Offline collection: an IndexedDB queue of records on the tablet, sent through the idempotent
// device API (POST /api/v1/veterans/records/sync with a client UUID) whenever the network is there.
// A record whose answer was lost on the way is simply sent again: the server answers with the
// same record, so nothing is doubled. The queue belongs to the signed-in collector.
(function () {
  "use strict";

  var root = document.getElementById("offline-collect");
  if (!root) return;
  var form = document.getElementById("offline-form");
  var user = root.dataset.user;
  var DB_NAME = "govdesk-veterans-offline";
  var STORE = "outbox";
  var STATES = { waiting: "等待发送", sending: "发送中", refused: "被退回" };
  var flushing = false;
  var sent = [];

  // --- the service worker -----------------------------------------------------------------
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.worker, { scope: root.dataset.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      document.getElementById("worker-state").textContent = "已可离线使用";
      root.dataset.workerReady = "1";
    }).catch(function () {
      document.getElementById("worker-state").textContent = "此浏览器不能离线打开本页";
    });
  }

  // --- IndexedDB ---------------------------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = function () {
      var store = request.result.createObjectStore(STORE, { keyPath: "uuid" });
      store.createIndex("user", "user");
    };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });

  function tx(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { resolve(result && result.result !== undefined ? result.result : result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }

  function mine() {
    return tx("readonly", function (store) { return store.index("user").getAll(user); }).then(function (items) {
      return items.sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
    });
  }

  function save(item) { return tx("readwrite", function (store) { store.put(item); }); }
  function remove(uuid) { return tx("readwrite", function (store) { store.delete(uuid); }); }

  // --- the form ------------------------------------------------------------------------------
  var NULLABLE = ["birth_date", "enlisted_on", "discharged_on"];

  function readForm() {
    var data = {};
    new FormData(form).forEach(function (value, key) {
      if (key !== "submit_for_review") data[key] = typeof value === "string" ? value.trim() : value;
    });
    NULLABLE.forEach(function (key) { if (!data[key]) data[key] = null; });
    data.disability_grade = data.disability_grade ? parseInt(data.disability_grade, 10) : null;
    data.community_id = data.community ? parseInt(data.community, 10) : null;
    delete data.community;
    return data;
  }

  function missingRequired() {
    var missing = [];
    form.querySelectorAll("[required]").forEach(function (el) {
      if (!el.value.trim()) {
        var label = form.querySelector("label[for='" + el.id + "']");
        missing.push(label ? label.textContent.replace("*", "").trim() : el.name);
      }
    });
    return missing;
  }

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var ALLOWED_TYPES = ["image/jpeg", "image/png", "application/pdf"];
  var CHUNK = 256 * 1024;
  var pendingFiles = [];

  function showFormError(text) {
    var error = document.getElementById("offline-form-error");
    error.textContent = text;
    error.classList.toggle("d-none", !text);
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
  }

  function renderPendingFiles() {
    var list = document.getElementById("offline-files");
    list.textContent = "";
    pendingFiles.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "offline-file";
      li.textContent = f.kind_label + "：" + f.name + "（" + Math.ceil(f.size / 1024) + " KB）";
      list.appendChild(li);
    });
  }

  document.getElementById("offline-add-file").addEventListener("click", function () {
    var input = document.getElementById("offline-file");
    var kind = document.getElementById("offline-kind");
    var file = input.files[0];
    if (!file) { showFormError("请先选择扫描件文件"); return; }
    if (ALLOWED_TYPES.indexOf(file.type) < 0) { showFormError("只接受 JPEG、PNG 图片或 PDF 文件：" + file.name); return; }
    if (!file.size || file.size > parseInt(root.dataset.maxBytes, 10)) { showFormError("文件是空的或太大：" + file.name); return; }
    file.arrayBuffer().then(function (buffer) { return crypto.subtle.digest("SHA-256", buffer); }).then(function (digest) {
      pendingFiles.push({ upload_id: newUuid(), kind: kind.value, kind_label: kind.options[kind.selectedIndex].text,
                          name: file.name, type: file.type, size: file.size, sha256: hex(digest), blob: file, done: false });
      input.value = "";
      showFormError("");
      renderPendingFiles();
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var missing = missingRequired();
    if (missing.length) {
      showFormError("请填写：" + missing.join("、"));
      return;
    }
    showFormError("");
    var item = { uuid: newUuid(), user: user, data: readForm(), submit: document.getElementById("offline-submit").checked,
                 files: pendingFiles, record_sent: false, state: "waiting", message: "",
                 queued_at: new Date().toISOString() };
    save(item).then(function () {
      pendingFiles = [];
      renderPendingFiles();
      form.reset();
      render();
      flush();
    });
  });

  // --- sending ----------------------------------------------------------------------------------
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function describe(body) {
    var text = body.message || "服务器拒绝了此记录";
    var fields = body.fields || {};
    var details = Object.keys(fields).map(function (k) { return fields[k]; }).filter(function (m) { return m !== text; });
    return details.length ? text + "（" + details.join("；") + "）" : text;
  }

  function call(method, url, body, headers) {
    return fetch(url, {
      method: method, credentials: "same-origin", cache: "no-store", body: body,
      headers: Object.assign({ "Accept": "application/json", "X-CSRFToken": csrfToken() }, headers || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { status: response.status, body: answer };
      });
    });
  }

  function sendJson(url, payload) {
    return call("POST", url, JSON.stringify(payload), { "Content-Type": "application/json" });
  }

  // An answer that says: stop for now and try again later (the item stays as it is).
  function isPause(status) { return status === 401 || status === 403 || status === 429 || status >= 500; }

  function pause(status) {
    setNetworkState(status === 401 || status === 403 ? "登录已过期，请重新登录后再发送" : "服务器暂时不可用，稍后自动重试",
                    "bg-danger");
    return "stop";
  }

  function refuse(item, answer) {
    item.state = "refused";
    item.message = describe(answer.body);
    return save(item).then(function () { return "refused"; });
  }

  // One scanned document, resumable: declare it (the answer says how much arrived), send the rest.
  function uploadFile(item, file) {
    var prefix = root.dataset.uploads;
    var corrupt = 0;
    function step(answer) {
      if (answer.status === 200 || answer.status === 201) {
        if (answer.body.complete) { file.done = true; return save(item).then(function () { return "done"; }); }
        var received = answer.body.received;
        var piece = file.blob.slice(received, Math.min(received + CHUNK, file.size));
        return call("PUT", prefix + "uploads/" + file.upload_id, piece, {
          "Content-Type": "application/octet-stream",
          "Content-Range": "bytes " + received + "-" + (received + piece.size - 1) + "/" + file.size
        }).then(step);
      }
      if (answer.status === 409 && /^(offset|chunk)_mismatch$/.test(answer.body.code || "")) {
        return call("GET", prefix + "uploads/" + file.upload_id).then(step);
      }
      if (answer.status === 400 && answer.body.code === "corrupt" && corrupt++ < 1) {
        return step({ status: 200, body: { received: 0, complete: false } });
      }
      if (isPause(answer.status)) return pause(answer.status);
      return refuse(item, answer);
    }
    return sendJson(prefix + "records/" + item.uuid + "/uploads", {
      upload_id: file.upload_id, kind: file.kind, size: file.size, sha256: file.sha256, content_type: file.type,
      filename: file.name
    }).then(step);
  }

  // A queued record and then its documents; resolves "done", "refused" or "stop".
  function sendItem(item) {
    var files = item.files || [];
    var start = item.record_sent ? Promise.resolve("sent") : sendJson(root.dataset.api, {
      uuid: item.uuid, data: item.data, submit: item.submit,
      attachments: files.map(function (f) { return f.kind; }).filter(function (k, i, all) { return all.indexOf(k) === i; })
    }).then(function (answer) {
      if (answer.status === 200 || answer.status === 201) {
        item.record_sent = true;
        item.record_id = answer.body.id;
        return save(item).then(function () { return "sent"; });
      }
      if (isPause(answer.status)) return pause(answer.status);
      return refuse(item, answer);
    });
    return start.then(function (outcome) {
      if (outcome !== "sent") return outcome;
      return files.reduce(function (chain, file) {
        return chain.then(function (previous) {
          if (previous !== "done" || file.done) return previous;
          return uploadFile(item, file);
        });
      }, Promise.resolve("done"));
    }).then(function (outcome) {
      if (outcome !== "done") return outcome;
      sent.unshift({ name: item.data.name, id: item.record_id });
      return remove(item.uuid).then(function () { return "done"; });
    });
  }

  function flush() {
    if (flushing || !navigator.onLine) return Promise.resolve();
    flushing = true;
    var stop = false;
    return mine().then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "waiting"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function () {
          if (stop) return;
          return sendItem(item).then(function (outcome) {
            if (outcome === "stop") stop = true;
          }, function () {
            stop = true;  // the network is gone again: the item stays waiting and resumes later
          });
        });
      }, Promise.resolve());
    }).then(function () {
      flushing = false;
      return render();
    }, function () {
      flushing = false;
      return render();
    });
  }

  // --- showing the queue --------------------------------------------------------------------------
  function maskId(value) {
    value = value || "";
    return value.length === 18 ? value.slice(0, 6) + "********" + value.slice(14) : value;
  }

  function render() {
    return mine().then(function (items) {
      var list = document.getElementById("outbox");
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "list-group-item px-0 outbox-item";
        li.dataset.state = item.state;
        li.dataset.uuid = item.uuid;
        var title = document.createElement("div");
        title.textContent = (item.data.name || "（未填姓名）") + " " + maskId(item.data.id_number);
        var state = document.createElement("div");
        state.className = "small " + (item.state === "refused" ? "text-danger" : "text-muted");
        var files = item.files || [];
        var label = STATES[item.state];
        if (item.state === "waiting" && item.record_sent) {
          label = "记录已发送，扫描件待上传（" + files.filter(function (f) { return f.done; }).length + "/" + files.length + "）";
        } else if (files.length) {
          label += "（含扫描件 " + files.length + " 份）";
        }
        state.textContent = label + (item.message ? "：" + item.message : "");
        li.appendChild(title);
        li.appendChild(state);
        if (item.state === "refused") {
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "btn btn-sm btn-link text-danger px-0";
          drop.textContent = "删除此记录";
          drop.addEventListener("click", function () {
            if (window.confirm("删除后无法恢复，确定删除「" + (item.data.name || "") + "」？")) remove(item.uuid).then(render);
          });
          li.appendChild(drop);
        }
        list.appendChild(li);
      });
      var waiting = items.filter(function (i) { return i.state !== "refused"; }).length;
      document.getElementById("outbox-count").textContent = String(waiting);
      document.getElementById("outbox-empty").classList.toggle("d-none", items.length > 0);
      var sentList = document.getElementById("sent");
      sentList.textContent = "";
      sent.forEach(function (s) {
        var li = document.createElement("li");
        li.className = "list-group-item px-0 sent-item";
        var link = document.createElement("a");
        link.href = root.dataset.records.replace(/\/$/, "") + "/" + s.id + "/";
        link.textContent = s.name + "（记录编号 " + s.id + "）";
        li.appendChild(link);
        sentList.appendChild(li);
      });
    });
  }

  function setNetworkState(text, css) {
    var badge = document.getElementById("network-state");
    badge.textContent = text;
    badge.className = "badge " + css;
  }

  function showOnline() {
    if (navigator.onLine) {
      setNetworkState("在线", "bg-success");
      flush();
    } else {
      setNetworkState("离线：提交的记录暂存在本机，联网后自动发送", "bg-warning text-dark");
    }
  }

  window.addEventListener("online", showOnline);
  window.addEventListener("offline", showOnline);
  document.getElementById("outbox-flush").addEventListener("click", function () { flush(); });
  setInterval(function () { if (navigator.onLine) flush(); }, 30000);
  render().then(showOnline);
})();
