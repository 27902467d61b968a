// Talking to the server: POST /predict, the model routes (/api/models, /api/model,
// /api/report, /api/kernels), POST /api/feedback, /healthz and the examples file, with errors
// people can read.

const REQUEST_TIMEOUT_MS = 20000;

/**
 * A failed request. `kind` is "network", "timeout", "http" or "bad_response"; for "http",
 * `code` and `detail` are the server's own error code and message (when it sent them) and
 * `retryAfter` its Retry-After in seconds (0 when none).
 */
export class ApiError extends Error {
  constructor(kind, message, { status = 0, code = "", detail = "", retryAfter = 0 } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** `path` with the query parameters that are set (null and false ones are left out). */
function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === true) query.set(key, "1");
    else if (value !== null && value !== undefined && value !== false) query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** The /predict address for these options (also used for the curl command). */
export function predictPath({ explain = false, model = null } = {}) {
  return withQuery("/predict", { explain, model });
}

/**
 * Ask a network to read an image. The answer gets `round_trip_ms`: the time from sending
 * to having the answer, as the person waited for it (the server's own is `time_ms`).
 * @param {{dataUrl?: string, file?: Blob}} image  a canvas data URL or an uploaded file
 * @param {{explain?: boolean, model?: string|null, signal?: AbortSignal}} options
 */
export async function predict(image, { explain = false, model = null, signal } = {}) {
  const url = predictPath({ explain, model });
  const init = { method: "POST", headers: { Accept: "application/json" } };
  if (image.file) {
    const form = new FormData();
    form.append("image", image.file, image.file.name || "image");
    init.body = form;
  } else {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify({ image: image.dataUrl });
  }
  const started = performance.now();
  const answer = await requestJson(url, init, signal);
  answer.round_trip_ms = performance.now() - started;
  return answer;
}

/**
 * Store a correction (POST /api/feedback): {id, image, label, predicted, model, box?}.
 * Resolves to {status: "saved" | "already_saved", id}.
 */
export function sendCorrection(correction, { signal } = {}) {
  const init = {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(correction),
  };
  return requestJson("/api/feedback", init, signal);
}

function getJson(path, signal) {
  return requestJson(path, { headers: { Accept: "application/json" } }, signal);
}

/** Every model the server offers: {default, models: [{name, parameters, ...}]}. */
export const fetchModels = ({ signal } = {}) => getJson("/api/models", signal);
/** A model's name, architecture and accuracy. */
export const fetchModelInfo = (model, { signal } = {}) =>
  getJson(withQuery("/api/model", { model }), signal);
/** A model's report card: training curves, confusion matrix, misread test digits. */
export const fetchReport = (model, { signal } = {}) =>
  getJson(withQuery("/api/report", { model }), signal);
/** A model's first-layer kernels. */
export const fetchKernels = (model, { signal } = {}) =>
  getJson(withQuery("/api/kernels", { model }), signal);
/** The MNIST test digits shipped with the page (scripts/make_examples.py). */
export const fetchExamples = ({ signal } = {}) =>
  getJson("/static/examples/mnist-test-digits.json", signal);

/** True when the server answers /healthz. */
export async function serverIsUp() {
  try {
    await getJson("/healthz");
    return true;
  } catch {
    return false;
  }
}

/** Errors that mean "the server is not there right now", not "it refused this". */
export function isOutage(error) {
  return (
    error instanceof ApiError &&
    (error.kind === "network" || error.kind === "timeout" || [502, 503, 504].includes(error.status))
  );
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
  const retryAfter = Math.max(0, Number(response.headers.get("Retry-After")) || 0);
  return new ApiError("http", message, { status, code, detail: detail?.message || "", retryAfter });
}
