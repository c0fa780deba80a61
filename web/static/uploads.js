// Browser side of the direct-to-S3 upload: presign, POST to S3, complete.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const status = document.getElementById("upload-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function api(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const file = document.getElementById("file").files[0];
    if (!file) return;
    try {
      status.textContent = "Preparing…";
      const upload = await api("/uploads", { filename: file.name, content_type: file.type, size: file.size });
      const data = new FormData();
      Object.entries(upload.post.fields).forEach(([name, value]) => data.append(name, value));
      data.append("file", file);  // S3 requires the file to be the last field
      status.textContent = "Uploading…";
      const sent = await fetch(upload.post.url, { method: "POST", body: data });
      if (!sent.ok) throw new Error("storage refused the file (" + sent.status + ")");
      status.textContent = "Finishing…";
      await api(upload.complete_url, {});
      window.location.reload();
    } catch (error) {
      status.textContent = "Upload failed: " + error.message;
    }
  });
})();
