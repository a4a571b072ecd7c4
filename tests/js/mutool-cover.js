// mutool run mutool-cover.js IN OUT incremental|full PAGE "words"
// Covers a band of page PAGE (1-based) with an opaque white box and writes new
// words over it, as someone editing what they agreed to would in a MuPDF-based
// reader. Coordinates are MuPDF's: points from the top-left corner.
var doc = new PDFDocument(scriptArgs[0]);
var out = scriptArgs[1], mode = scriptArgs[2];
var page = doc.loadPage(parseInt(scriptArgs[3], 10) - 1);
var words = scriptArgs[4];
var cover = page.createAnnotation("Square");
cover.setRect([60, 150, 540, 230]);
cover.setColor([1, 1, 1]);
cover.setInteriorColor([1, 1, 1]);
cover.update();
var text = page.createAnnotation("FreeText");
text.setRect([70, 170, 530, 210]);
text.setContents(words);
text.update();
doc.save(out, mode == "incremental" ? "incremental" : "garbage,compress");
