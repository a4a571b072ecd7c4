// aup's only script: uploads with progress, and each upload's result shown as
// soon as the inbox has filed it. Without it the page still works: the form
// posts the files and the list is made by the server.
(function () {
  "use strict";

  var printLink = document.querySelector("[data-print]");
  if (printLink) {
    printLink.addEventListener("click", function (event) { event.preventDefault(); window.print(); });
  }

  var drop = document.getElementById("drop");
  var list = document.getElementById("uploads");
  if (!drop || !list) { return; }
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var input = document.getElementById("file");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function sendFile(file) {
    var item = el("li");
    item.setAttribute("data-sending", file.name);
    item.appendChild(el("strong", "", file.name));
    var bar = el("progress");
    bar.max = 100; bar.value = 0;
    var said = el("span", "muted", " sending…");
    item.appendChild(bar); item.appendChild(said);
    var none = document.getElementById("no-uploads");
    if (none) { none.remove(); }
    list.insertBefore(item, list.firstChild);
    var body = new FormData();
    body.append("file", file, file.name);
    var request = new XMLHttpRequest();
    request.open("POST", "/upload");
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
    };
    request.onload = function () {
      var answer = {};
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = {}; }
      if (request.status === 200 && answer.uploads) {
        item.remove();
        refresh();
      } else {
        bar.remove();
        said.className = "problem";
        said.textContent = " " + (answer.error || ("the upload failed (" + request.status + ")"));
      }
    };
    request.onerror = function () {
      bar.remove();
      said.className = "problem";
      said.textContent = " the connection failed: nothing was uploaded; try again";
    };
    request.send(body);
  }

  function sendAll(files) {
    for (var i = 0; i < files.length; i++) { sendFile(files[i]); }
  }

  drop.addEventListener("submit", function (event) {
    if (input.files.length) { event.preventDefault(); sendAll(input.files); input.value = ""; }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) { sendAll(event.dataTransfer.files); });

  function render(upload) {
    var item = el("li");
    item.setAttribute("data-upload", upload.id);
    item.setAttribute("data-state", upload.state);
    item.appendChild(el("strong", "", upload.name));
    item.appendChild(el("span", "muted", " " + upload.size_kb + " KB, " +
      upload.uploaded_local + " by " + upload.user + " "));
    item.appendChild(el("span", "state " + upload.state, upload.state_label));
    var results = el("ul");
    upload.forms.forEach(function (form) {
      var line = el("li");
      var link = el("a", "", form.form_id);
      link.href = "/form/" + encodeURIComponent(form.form_id);
      line.appendChild(link);
      line.appendChild(document.createTextNode(" " + (form.person || "(blank form)") + ": "));
      var verdict = el("span", "state " + form.verdict, form.verdict);
      verdict.setAttribute("data-verdict", form.verdict);
      line.appendChild(verdict);
      if (form.missing.length) { line.appendChild(document.createTextNode(" (missing: " + form.missing.join(", ") + ")")); }
      results.appendChild(line);
    });
    upload.quarantined.forEach(function (entry) {
      var line = el("li");
      line.setAttribute("data-quarantined", entry.id);
      var what = (entry.page ? "Page " + entry.page : "The file") + " was not filed";
      if (entry.link) {
        var link = el("a", "", what);
        link.href = "/quarantine/" + entry.id;
        line.appendChild(link);
      } else {
        line.appendChild(document.createTextNode(what));
      }
      line.appendChild(document.createTextNode(": "));
      line.appendChild(el("span", "reason", entry.reason.sentence));
      results.appendChild(line);
    });
    item.appendChild(results);
    return item;
  }

  var timer = null;
  function refresh() {
    var request = new XMLHttpRequest();
    request.open("GET", "/upload/results");
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var answer = null;
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
      if (request.status !== 200 || !answer || !answer.uploads) {
        // Signed out (the answer is the sign-in page), or the server is away.
        var state = document.getElementById("inbox-state");
        if (state) { state.textContent = "Results are not updating: reload the page (you may need to sign in again)."; }
        return;
      }
      var sending = list.querySelectorAll("[data-sending]");
      list.textContent = "";
      Array.prototype.forEach.call(sending, function (node) { list.appendChild(node); });
      answer.uploads.forEach(function (upload) { list.appendChild(render(upload)); });
      var state = document.getElementById("inbox-state");
      if (state && answer.inbox) {
        var settling = answer.inbox.settling;
        state.textContent = answer.inbox.filing ? "Filing now." :
          settling ? settling + (settling === 1 ? " file" : " files") + " still arriving." : "Ready for scans.";
      }
      var waiting = answer.uploads.some(function (upload) { return upload.state === "waiting"; });
      if (waiting || sending.length > 0) { schedule(); }
    };
    request.send();
  }
  // Asked only while something waits to be filed: an idle page does not keep
  // its session alive.
  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 1500);
  }
  if (list.querySelector('[data-state="waiting"]') !== null) { schedule(); }
})();
