// Images instead of drawings: the file picker, drag and drop onto the pad, and paste.

/** Types the server decodes as they are; anything else the browser can read is re-encoded. */
const SERVER_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp"]);
/** Files larger than this, or wider/taller than MAX_SIDE, are shrunk before sending. */
const MAX_SEND_BYTES = 1_500_000;
const MAX_SIDE = 1024;
const SHRINK_TO = 560;

/**
 * Decode an image file for display, and choose what to send: the file itself, or a
 * smaller PNG re-encoding when it is very large or in a format the server does not read.
 * `size` is the sent image's size in pixels (the server's boxes are in those pixels).
 * @returns {Promise<{bitmap: CanvasImageSource, image: {file?: Blob, dataUrl?: string},
 *   size: {width: number, height: number}}>}
 */
export async function readImageFile(file) {
  const bitmap = await decode(file);
  const big = file.size > MAX_SEND_BYTES || bitmap.width > MAX_SIDE || bitmap.height > MAX_SIDE;
  if (SERVER_TYPES.has(file.type) && !big) {
    return { bitmap, image: { file }, size: { width: bitmap.width, height: bitmap.height } };
  }
  const canvas = shrunk(bitmap);
  return {
    bitmap,
    image: { dataUrl: canvas.toDataURL("image/png") },
    size: { width: canvas.width, height: canvas.height },
  };
}

/** Decode a PNG data URL (an MNIST example) for the pad: {bitmap, image, size}. */
export async function readDataUrl(dataUrl) {
  const img = new Image();
  img.src = dataUrl;
  await img.decode();
  return {
    bitmap: img,
    image: { dataUrl },
    size: { width: img.naturalWidth, height: img.naturalHeight },
  };
}

async function decode(file) {
  if ("createImageBitmap" in window) {
    try {
      return await createImageBitmap(file);
    } catch {
      // fall back to <img>, which some browsers decode more formats with
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } catch {
    throw new Error("This file isn't an image the browser can open. Try a PNG or JPEG.");
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The image shrunk to fit SHRINK_TO px, on a canvas (transparency kept). */
function shrunk(bitmap) {
  const scale = Math.min(1, SHRINK_TO / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/**
 * Call `onFile(file)` for an image chosen in `input`, dropped on `dropZone`, or pasted.
 * `onReject(message)` is called for a drop or paste that holds no image.
 */
export function acceptImages({ input, button, dropZone, onFile, onReject }) {
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (file) onFile(file);
    input.value = ""; // choosing the same file again still fires "change"
  });

  let depth = 0; // dragenter/dragleave also fire for the pad's children
  const setDragging = (on) => {
    dropZone.dataset.dragging = on ? "true" : "false";
  };
  dropZone.addEventListener("dragenter", (e) => {
    if (!hasFiles(e.dataTransfer)) return;
    e.preventDefault();
    depth += 1;
    setDragging(true);
  });
  dropZone.addEventListener("dragover", (e) => {
    if (!hasFiles(e.dataTransfer)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  dropZone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) setDragging(false);
  });
  dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    setDragging(false);
    const file = firstImage(e.dataTransfer?.files);
    if (file) onFile(file);
    else onReject("That wasn't an image file. Drop a PNG, JPEG, GIF, BMP or WebP picture.");
  });
  // A file dropped next to the pad should not make the browser navigate away to it.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());

  document.addEventListener("paste", (e) => {
    const file = firstImage(e.clipboardData?.files);
    if (!file) return;
    e.preventDefault();
    onFile(file);
  });
}

function hasFiles(dataTransfer) {
  return !!dataTransfer && [...dataTransfer.types].includes("Files");
}

function firstImage(files) {
  if (!files) return null;
  return [...files].find((f) => f.type.startsWith("image/") || f.type === "") || null;
}
