// mutool run fill.js IN OUT incremental|full "Field label=value"...
// MuPDF 1.21's widgets are found by their label (/TU), as a person sees them.
var doc = new PDFDocument(scriptArgs[0]);
var out = scriptArgs[1], mode = scriptArgs[2];
var values = {};
for (var i = 3; i < scriptArgs.length; i++) {
  var at = scriptArgs[i].indexOf("=");
  values[scriptArgs[i].slice(0, at)] = scriptArgs[i].slice(at + 1);
}
for (var p = 0; p < doc.countPages(); p++) {
  var widgets = doc.loadPage(p).getWidgets();
  for (var w = 0; w < widgets.length; w++) {
    var label = widgets[w].getLabel();
    if (label in values) { widgets[w].setTextValue(values[label]); widgets[w].update(); }
  }
}
doc.save(out, mode == "incremental" ? "incremental" : "garbage,compress");
