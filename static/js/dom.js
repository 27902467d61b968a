// The few elements every view builds.

/** <p class=...>text</p> */
export function paragraph(className, text) {
  const p = document.createElement("p");
  p.className = className;
  p.textContent = text;
  return p;
}

/** <span class=...>text</span> */
export function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

/** <button type="button" class=...> */
export function button(className) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = className;
  return el;
}

/** A 28x28 digit image (decorative: its button or list item says what it is). */
export function digitImage(src) {
  const img = document.createElement("img");
  img.src = src;
  img.alt = "";
  img.width = 28;
  img.height = 28;
  return img;
}
