// The upload form on /apps, with htmx: a progress bar while the file goes up and is
// vetted, and the server's reason shown in place when it refuses the file (htmx leaves
// error responses unswapped by default). Without JavaScript the form posts as a page.
(function () {
  "use strict";

  function uploadForm(event) {
    const target = event.target;
    return target instanceof Element ? target.closest("form[data-upload]") : null;
  }

  function showProgress(form, value) {
    const box = form.querySelector(".upload-progress");
    const bar = form.querySelector("progress");
    if (!box || !bar) return;
    box.hidden = false;
    if (value === null) {
      bar.removeAttribute("value"); // indeterminate: the server is vetting the file
    } else {
      bar.value = value;
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = uploadForm(event);
    if (form) showProgress(form, 0);
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    const form = uploadForm(event);
    if (!form || !event.detail.lengthComputable || !event.detail.total) return;
    const percent = Math.round((100 * event.detail.loaded) / event.detail.total);
    showProgress(form, percent >= 100 ? null : percent);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    const form = uploadForm(event);
    if (!form) return;
    const status = event.detail.xhr.status;
    if (status >= 400 && status < 600 && /^text\/html/.test(event.detail.xhr.getResponseHeader("content-type") || "")) {
      event.detail.shouldSwap = true; // the reason, as a message in the page
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = uploadForm(event);
    const status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (!form || (status >= 200 && status < 400)) return;
    const box = form.querySelector(".upload-progress");
    if (box) box.hidden = true;
    const result = document.getElementById("upload-result");
    const type = status ? event.detail.xhr.getResponseHeader("content-type") || "" : "";
    if (result && !/^text\/html/.test(type)) {
      const message = document.createElement("p");
      message.className = "error";
      message.setAttribute("role", "alert");
      message.textContent = status === 413 ? form.dataset.tooLarge : form.dataset.failed;
      result.replaceChildren(message);
    }
  });
})();
