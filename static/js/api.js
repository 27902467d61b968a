// Talking to the server: POST /predict and GET /api/model, with errors people can read.

const REQUEST_TIMEOUT_MS = 20000;

/** A failed request. `kind` is "network", "timeout", "http" or "bad_response". */
export class ApiError extends Error {
  constructor(kind, message, { status = 0, code = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

/**
 * Ask the network to read an image.
 * @param {{dataUrl?: string, file?: Blob}} image  a canvas data URL or an uploaded file
 * @param {{explain?: boolean, signal?: AbortSignal}} options
 */
export async function predict(image, { explain = false, signal } = {}) {
  const url = explain ? "/predict?explain=1" : "/predict";
  const init = { method: "POST", headers: { Accept: "application/json" } };
  if (image.file) {
    const form = new FormData();
    form.append("image", image.file, image.file.name || "image");
    init.body = form;
  } else {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify({ image: image.dataUrl });
  }
  return requestJson(url, init, signal);
}

/** The model's name, architecture and accuracy. */
export function fetchModelInfo({ signal } = {}) {
  return requestJson("/api/model", { headers: { Accept: "application/json" } }, signal);
}

async function requestJson(url, init, signal) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, REQUEST_TIMEOUT_MS);
  const forwardAbort = () => controller.abort();
  signal?.addEventListener("abort", forwardAbort, { once: true });

  let response;
  try {
    response = await fetch(url, { ...init, signal: controller.signal, cache: "no-store" });
  } catch (err) {
    if (signal?.aborted) throw err; // cancelled on purpose: callers ignore AbortError
    if (timedOut) {
      throw new ApiError("timeout", "The server took too long to answer. Try again in a moment.");
    }
    throw new ApiError(
      "network",
      "Can't reach the server. Check that it is running and your connection works, then try again.",
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forwardAbort);
  }

  const body = await readJson(response);
  if (!response.ok) throw httpError(response, body);
  if (body === undefined) {
    throw new ApiError("bad_response", "The server sent an answer this page can't read.", {
      status: response.status,
    });
  }
  return body;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function httpError(response, body) {
  const status = response.status;
  const detail = body && body.error && typeof body.error.message === "string" ? body.error : null;
  const code = detail?.code || "";
  let message;
  if (status >= 500) {
    message = `The server ran into a problem (error ${status}). Try again in a moment.`;
    if (detail) message = `The server ran into a problem: ${detail.message} (error ${status})`;
  } else if (detail) {
    message = `The server couldn't use that image: ${detail.message}`;
  } else {
    message = `The server refused the request (error ${status}).`;
  }
  return new ApiError("http", message, { status, code });
}
