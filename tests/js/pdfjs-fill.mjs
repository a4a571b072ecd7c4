// node pdfjs-fill.mjs IN OUT [field=value]... [ink=PAGE,X0,Y0,X1,Y1]
// Fills and draws on a form with pdf.js (pdfjs-dist, the library inside
// Firefox's PDF viewer) and saves it as Firefox does, with `saveDocument()`.
// Fields are found by their name, as pdf.js's annotation layer keys them; an
// ink stroke is what the viewer's pen tool makes: a zigzag across the
// rectangle (PDF points, from the bottom left) on PAGE (1-based).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { getDocument, AnnotationEditorType } from "pdfjs-dist/legacy/build/pdf.mjs";

const [input, output, ...edits] = process.argv.slice(2);
// The fonts Firefox ships with pdf.js, for the appearances of typed values.
const fonts = join(dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json")), "standard_fonts/");
const doc = await getDocument({
  data: new Uint8Array(readFileSync(input)),
  standardFontDataUrl: fonts,
}).promise;
const values = new Map();
const strokes = [];
for (const edit of edits) {
  const at = edit.indexOf("=");
  const [key, value] = [edit.slice(0, at), edit.slice(at + 1)];
  if (key === "ink") strokes.push(value.split(",").map(Number));
  else values.set(key, value);
}

const found = new Set();
for (let p = 1; p <= doc.numPages; p++) {
  const page = await doc.getPage(p);
  for (const annotation of await page.getAnnotations()) {
    if (values.has(annotation.fieldName)) {
      doc.annotationStorage.setValue(annotation.id, { value: values.get(annotation.fieldName) });
      found.add(annotation.fieldName);
    }
  }
}
for (const name of values.keys()) {
  if (!found.has(name)) throw new Error(`no field named ${name}`);
}

strokes.forEach(([page, x0, y0, x1, y1], n) => {
  // The pen's path: straight segments, each NaN-led as the ink editor writes them.
  const line = [NaN, NaN, NaN, NaN, x0, y0];
  const steps = 8;
  for (let i = 1; i <= steps; i++) {
    const x = x0 + ((x1 - x0) * i) / steps;
    const y = i % 2 ? y1 : y0;
    line.push(NaN, NaN, NaN, NaN, x, y);
  }
  const points = [];
  for (let i = 4; i < line.length; i += 6) points.push(line[i], line[i + 1]);
  doc.annotationStorage.setValue(`pdfjs_internal_editor_${n}`, {
    annotationType: AnnotationEditorType.INK,
    color: [0, 0, 0],
    thickness: 2,
    opacity: 1,
    paths: { lines: [Float32Array.from(line)], points: [Float32Array.from(points)] },
    pageIndex: page - 1,
    rect: [x0 - 2, Math.min(y0, y1) - 2, x1 + 2, Math.max(y0, y1) + 2],
    rotation: 0,
  });
});

writeFileSync(output, await doc.saveDocument());
await doc.destroy();
