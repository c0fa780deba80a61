// Browser side of the direct-to-S3 upload (web/uploads.py): check the file, ask for a presigned POST,
// send the file straight to S3 with a progress bar, complete, then poll GET /uploads/<id> until the worker
// has made the variants (or rejected the image) and show them. Plain script, no build step; the page's
// Content-Security-Policy admits no inline code, so everything is built with DOM calls here.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = document.getElementById("file");
  const messages = document.getElementById("upload-messages");
  const list = document.getElementById("uploads");
  const empty = document.getElementById("no-uploads");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const POLL_FIRST_MS = 500, POLL_MAX_MS = 5000, POLL_FACTOR = 1.5;

  class Refused extends Error {}  // a refusal with a message meant for the user, as it is
  // No answer could be read: a network error, or CORS. The bucket answers only the stage's own web origin,
  // but a form POST is a simple request (no preflight), so S3 may have stored the file all the same.
  class Unanswered extends Error {}

  function say(text, isError) {
    const item = document.createElement("li");
    item.textContent = text;
    if (isError) item.className = "error";
    messages.appendChild(item);
  }

  function mebibytes(bytes) {
    return (bytes / 1048576).toFixed(1) + " MiB";
  }

  // The checks the browser can make before sending anything; S3's POST policy enforces them anyway.
  function problem(file) {
    const maxBytes = Number(form.dataset.maxBytes), types = form.dataset.types.split(",");
    if (!types.includes(file.type)) {
      return file.name + " is not an image we accept (JPEG, PNG, WebP or GIF); nothing was sent.";
    }
    if (file.size > maxBytes) {
      return file.name + " is " + file.size + " bytes, over the limit of " + maxBytes + " bytes (" +
        mebibytes(maxBytes) + "). Pick a smaller image; nothing was sent.";
    }
    if (file.size === 0) return file.name + " is empty; nothing was sent.";
    return null;
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    return { status: response.status, ok: response.ok, data: data };
  }

  // S3 answers a refused POST with XML: <Error><Code>…</Code><Message>…</Message></Error>.
  function s3Error(xhr) {
    const xml = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
    const code = xml.querySelector("Code"), message = xml.querySelector("Message");
    if (!code) return "HTTP " + xhr.status;
    return (message ? message.textContent + " " : "") + "(" + code.textContent + ")";
  }

  function sendToS3(post, file, progress) {
    return new Promise(function (resolve, reject) {
      const data = new FormData();
      Object.entries(post.fields).forEach(function ([name, value]) { data.append(name, value); });
      data.append("file", file);  // S3 reads the fields before the file: it must come last
      const xhr = new XMLHttpRequest();
      xhr.open("POST", post.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) progress.value = event.loaded / event.total;
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Refused("The storage refused " + file.name + ": " + s3Error(xhr)));
      });
      xhr.addEventListener("error", function () {
        reject(new Unanswered("The storage did not answer " + file.name + " to this page (" +
          window.location.origin + "): it answers only the site's own address, or it could not be " +
          "reached. Open the site at its usual address and try again."));
      });
      xhr.addEventListener("timeout", function () {
        reject(new Refused("Sending " + file.name + " to the storage timed out; try again."));
      });
      xhr.send(data);
    });
  }

  function stateText(upload) {
    switch (upload.state) {
      case "pending": return "uploading";
      case "uploaded": return "processing";
      case "ready": return "ready";
      case "failed": return "rejected: " + (upload.reason || "the image could not be processed");
      default: return upload.state;
    }
  }

  function card(id) {
    let item = list.querySelector('[data-upload-id="' + id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.className = "upload";
      item.dataset.uploadId = String(id);
      list.prepend(item);
      empty.hidden = true;
    }
    return item;
  }

  function label(item, text, kind) {
    item.replaceChildren();
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = item.dataset.filename || "";
    const state = document.createElement("span");
    state.className = "state state-" + kind;
    state.textContent = text;
    item.append(name, state);
    return state;
  }

  // The same markup as web/templates/_upload.html: a WebP source, a JPEG fallback, both with srcset.
  function render(item, upload) {
    item.dataset.state = upload.state;
    item.dataset.filename = upload.filename;
    label(item, stateText(upload), upload.state);
    if (!upload.src) return;
    const link = document.createElement("a");
    link.href = upload.url || upload.src;
    const picture = document.createElement("picture");
    if (upload.srcset["image/webp"]) {
      const source = document.createElement("source");
      source.type = "image/webp";
      source.srcset = upload.srcset["image/webp"];
      source.sizes = upload.sizes;
      picture.appendChild(source);
    }
    const img = document.createElement("img");
    if (upload.srcset["image/jpeg"]) {
      img.srcset = upload.srcset["image/jpeg"];
      img.sizes = upload.sizes;
    }
    img.src = upload.src;
    img.alt = upload.filename;
    picture.appendChild(img);
    link.appendChild(picture);
    item.prepend(link);
  }

  function follow(id) {
    let delay = POLL_FIRST_MS;
    async function poll() {
      try {
        const answer = await api("GET", "/uploads/" + id);
        if (answer.status === 404) { card(id).remove(); return; }
        if (answer.ok) {
          const item = card(id);
          if (item.dataset.state !== answer.data.state) render(item, answer.data);
          if (answer.data.state === "ready" || answer.data.state === "failed") return;
        }
      } catch (error) { /* offline for a moment: try again later */ }
      delay = Math.min(delay * POLL_FACTOR, POLL_MAX_MS);
      window.setTimeout(poll, delay);
    }
    window.setTimeout(poll, delay);
  }

  // Nothing of the file reached the bucket: forget the pending upload, so nothing of it is left.
  async function cancel(id, item) {
    const cancelled = await api("DELETE", "/uploads/" + id).catch(() => ({ ok: false, data: {} }));
    if (cancelled.ok) item.remove();
    else label(item, "not cancelled: " + (cancelled.data.error || "try again later"), "failed");
    if (!list.children.length) empty.hidden = false;
  }

  async function upload(file) {
    const refusal = problem(file);
    if (refusal) { say(refusal, true); return; }
    const created = await api("POST", "/uploads", { filename: file.name, content_type: file.type, size: file.size });
    if (!created.ok) {
      say("Could not start uploading " + file.name + ": " + (created.data.error || "HTTP " + created.status), true);
      return;
    }
    const id = created.data.id;
    const item = card(id);
    item.dataset.filename = file.name;
    item.dataset.state = "pending";
    label(item, "uploading", "pending");
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.value = 0;
    item.appendChild(progress);
    let unanswered = null;
    try {
      await sendToS3(created.data.post, file, progress);
    } catch (error) {
      if (!(error instanceof Unanswered)) {
        await cancel(id, item);
        say(error.message, true);
        return;
      }
      unanswered = error;  // completion tells whether the file arrived
    }
    label(item, "processing", "uploaded");
    const done = await api("POST", created.data.complete_url, {});
    if (done.status === 409 && done.data.upload) {
      say(done.data.error, true);  // completed already (another tab?): follow it all the same
    } else if (done.status === 409) {  // the file is not in the bucket
      await cancel(id, item);
      say(unanswered ? unanswered.message + " Nothing was stored." :
        "Could not finish uploading " + file.name + ": " + (done.data.error || "HTTP 409"), true);
      return;
    } else if (unanswered && done.ok) {
      say(unanswered.message + " The file reached the storage all the same and is being processed.", true);
    } else if (!done.ok) {
      label(item, "stored, but not yet processed: " + (done.data.error || "HTTP " + done.status), "failed");
      say("Could not finish uploading " + file.name + ": " + (done.data.error || "HTTP " + done.status), true);
      return;
    }
    render(item, done.ok ? done.data : done.data.upload);
    follow(id);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    messages.replaceChildren();
    const files = Array.from(input.files);
    form.reset();
    files.forEach(function (file) {
      upload(file).catch(function (error) { say("Uploading " + file.name + " failed: " + error.message, true); });
    });
  });

  // Images the server listed while the worker was still on them.
  list.querySelectorAll('[data-state="uploaded"]').forEach(function (item) { follow(item.dataset.uploadId); });
})();
