// The signature pad of the signing page: pointer events (finger, pen, mouse),
// undo and clear. Without it the page still signs with a typed name.
(function () {
  "use strict";
  var canvas = document.getElementById("pad-canvas");
  var form = document.getElementById("sign");
  if (!canvas || !form || !window.PointerEvent) { return; }
  document.documentElement.className += " js";
  var context = canvas.getContext("2d");
  var strokes = [];
  var current = null;
  var MAX_POINTS = 3900;

  function redraw() {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.lineWidth = 4;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    strokes.forEach(function (stroke) {
      context.beginPath();
      stroke.forEach(function (p, i) {
        var x = p[0] * canvas.width, y = p[1] * canvas.height;
        if (i === 0) { context.moveTo(x, y); context.lineTo(x + 0.1, y); } else { context.lineTo(x, y); }
      });
      context.stroke();
    });
  }
  function points() { return strokes.reduce(function (n, s) { return n + s.length; }, 0); }
  function at(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) / box.width, y = (event.clientY - box.top) / box.height;
    return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
  }
  canvas.addEventListener("pointerdown", function (event) {
    if (strokes.length >= 60 || points() >= MAX_POINTS) { return; }
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = [at(event)];
    strokes.push(current);
    redraw();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!current || points() >= MAX_POINTS) { return; }
    current.push(at(event));
    redraw();
  });
  function end() { current = null; }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  document.getElementById("pad-undo").addEventListener("click", function () { strokes.pop(); redraw(); });
  document.getElementById("pad-clear").addEventListener("click", function () { strokes = []; redraw(); });
  form.addEventListener("submit", function () {
    var drawn = points() >= 2;
    form.elements.how.value = drawn ? "drawn" : "typed";
    form.elements.drawn.value = drawn ? JSON.stringify(strokes.map(function (s) {
      return s.map(function (p) { return [Math.round(p[0] * 10000) / 10000, Math.round(p[1] * 10000) / 10000]; });
    })) : "";
  });
})();
