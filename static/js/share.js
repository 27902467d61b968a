// Save the drawing as a PNG, and copy a curl command that sends that file to /predict the way
// the page does (same network), so the reading can be reproduced outside the browser.

const FILE_NAME = "drawing.png";

/** A Blob of what the pad sends: the uploaded file, or the PNG of a data URL. */
export function imageBlob(image) {
  if (image.file) return image.file;
  const [head, data] = image.dataUrl.split(",");
  const type = head.slice(5).split(";")[0] || "image/png";
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

/** The file name the saved image gets (its extension follows the image's type). */
export function fileName(blob) {
  const ext = { "image/jpeg": "jpg", "image/gif": "gif", "image/bmp": "bmp", "image/webp": "webp" }[blob.type];
  return ext ? FILE_NAME.replace(/png$/, ext) : FILE_NAME;
}

export function curlCommand(path, name) {
  return `curl -s -F image=@${name} '${window.location.origin}${path}'`;
}

/** Start a download of `blob` as `name`. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
