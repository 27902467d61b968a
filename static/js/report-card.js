// The model's report card from GET /api/report: training curves, the confusion matrix on the
// MNIST test set and the test digits it misreads (their images from the examples file).

import { lineChart } from "./charts.js";
import { button, digitImage, paragraph, span } from "./dom.js";
import { formatAccuracy, formatPercent } from "./format.js";

/**
 * Fill `container`.
 * @param {object} card  the /api/report answer
 * @param {Map<number, {label: number, image: string}>} images  MNIST test digits by index
 * @param {(digit: {index: number, image: string}) => void} onPick  load a digit into the pad
 */
export function renderReport(container, card, images, onPick) {
  if (!card.evaluated) {
    container.replaceChildren(paragraph("placeholder", "This network has no recorded evaluation."));
    return;
  }
  const parts = [paragraph("report-intro", introText(card)), curves(card), confusion(card)];
  parts.push(misread(card, images, onPick));
  container.replaceChildren(...parts);
}

function introText(card) {
  const bits = [];
  if (card.epochs) bits.push(`Trained for ${card.epochs} epochs`);
  if (card.best_epoch) bits.push(`the weights of epoch ${card.best_epoch} kept (best on held-out digits)`);
  let text = bits.join(", ");
  if (card.test_images) {
    text += `${text ? ". " : ""}On ${card.test_images.toLocaleString("en-US")} MNIST test digits it never saw, it reads ${formatAccuracy(card.test_accuracy)} right (${card.test_errors} wrong).`;
  }
  return text;
}

function curves(card) {
  const figure = document.createElement("div");
  figure.className = "report-charts";
  const xs = card.history.map((e) => e.epoch);
  const accuracy = card.history.map((e) => e.val_accuracy);
  const first = accuracy[0];
  const best = Math.max(...accuracy.filter(Number.isFinite));
  figure.append(
    chartBlock(
      "Accuracy on held-out digits",
      lineChart({
        title: "Accuracy on held-out digits, by epoch",
        summary: `From ${formatPercent(first ?? 0)} after epoch 1 to at best ${formatPercent(best)}.`,
        xs,
        series: [{ name: "validation accuracy", className: "line-accuracy", values: accuracy }],
        format: (v) => formatPercent(v),
        marker: card.best_epoch,
      }),
      [["line-accuracy", "validation accuracy"], ["chart-marker", "epoch kept"]],
    ),
    chartBlock(
      "Loss (lower is better)",
      lineChart({
        title: "Training and validation loss, by epoch",
        summary: `Training loss from ${fmt(card.history[0]?.train_loss)} to ${fmt(card.history.at(-1)?.train_loss)}, validation loss from ${fmt(card.history[0]?.val_loss)} to ${fmt(card.history.at(-1)?.val_loss)}.`,
        xs,
        series: [
          { name: "training loss", className: "line-train", values: card.history.map((e) => e.train_loss) },
          { name: "validation loss", className: "line-val", values: card.history.map((e) => e.val_loss) },
        ],
        format: fmt,
      }),
      [["line-train", "training"], ["line-val", "validation"]],
    ),
  );
  return figure;
}

function fmt(v) {
  return Number.isFinite(v) ? v.toFixed(3) : "–";
}

function chartBlock(title, svg, keys) {
  const block = document.createElement("figure");
  block.className = "report-chart";
  const caption = document.createElement("figcaption");
  caption.append(span("chart-title", title));
  for (const [className, label] of keys) {
    const key = span("chart-key", label);
    key.prepend(span(`key-swatch ${className}`, ""));
    caption.append(key);
  }
  block.append(caption, svg);
  return block;
}

function confusion(card) {
  const wrap = document.createElement("div");
  wrap.className = "confusion-wrap";
  const table = document.createElement("table");
  table.className = "confusion";
  const caption = document.createElement("caption");
  caption.textContent =
    "Confusion matrix: each row is the true digit, each column what the network read. The diagonal is right; every other number is a mistake.";
  const head = document.createElement("tr");
  head.append(cell("th", "true ↓ read →", { scope: "col" }));
  card.classes.forEach((label) => head.append(cell("th", label, { scope: "col" })));
  const body = document.createElement("tbody");
  const biggestMistake = Math.max(
    1,
    ...card.confusion_matrix.flatMap((row, i) => row.filter((_, j) => j !== i)),
  );
  card.confusion_matrix.forEach((row, i) => {
    const tr = document.createElement("tr");
    tr.append(cell("th", card.classes[i], { scope: "row" }));
    row.forEach((count, j) => {
      const td = cell("td", String(count));
      if (i === j) td.className = "right";
      else if (count > 0) {
        td.className = "wrong";
        td.style.setProperty("--v", String(0.25 + 0.75 * (count / biggestMistake)));
      }
      tr.append(td);
    });
    body.append(tr);
  });
  const thead = document.createElement("thead");
  thead.append(head);
  table.append(caption, thead, body);
  wrap.append(table);
  return wrap;
}

function misread(card, images, onPick) {
  const block = document.createElement("div");
  block.className = "misread";
  const title = document.createElement("h3");
  title.className = "subtitle";
  title.id = "misread-heading";
  title.textContent = `The ${card.misread.length} test digits it gets wrong`;
  const help = paragraph("misread-help", "Each shows the true digit → what the network read, and how sure it was. Pick one to read it on the pad.");
  const grid = document.createElement("div");
  grid.className = "misread-grid";
  grid.setAttribute("role", "list");
  grid.setAttribute("aria-labelledby", title.id);
  for (const m of card.misread) {
    const item = document.createElement("div");
    item.setAttribute("role", "listitem");
    const digit = images.get(m.index);
    const pick = button("misread-item");
    pick.setAttribute("aria-label", `Test digit ${m.index}: a ${m.label}, read as ${m.predicted} (${formatPercent(m.confidence ?? 0)} sure). Load it into the pad.`);
    if (digit) {
      pick.append(digitImage(digit.image));
      pick.addEventListener("click", () => onPick({ index: m.index, image: digit.image }));
    } else {
      pick.disabled = true;
      pick.append(span("misread-missing", `#${m.index}`));
    }
    pick.append(span("misread-text", `${m.label} → ${m.predicted}`), span("misread-conf", formatPercent(m.confidence ?? 0)));
    item.append(pick);
    grid.append(item);
  }
  block.append(title, help, grid);
  return block;
}

function cell(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  node.textContent = text;
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

