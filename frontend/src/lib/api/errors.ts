/**
 * The API answers every failure with `{"error": {"code", "message", "fields"?}}`.
 * `parseApiError` turns whatever came back (that shape, FastAPI's default `detail`
 * shape, plain text, or nothing at all) into one `ApiError` the UI can show.
 */

export interface FieldError {
	field: string;
	message: string;
}

export class ApiError extends Error {
	override readonly name = 'ApiError';
	readonly status: number;
	readonly code: string;
	readonly fields: FieldError[];
	/** Seconds to wait, from `Retry-After` (429 answers). */
	readonly retryAfter: number | null;

	constructor(
		status: number,
		code: string,
		message: string,
		fields: FieldError[] = [],
		retryAfter: number | null = null
	) {
		super(message);
		this.status = status;
		this.code = code;
		this.fields = fields;
		this.retryAfter = retryAfter;
	}

	/** The message for one form field, matching `email`, `body.email` or `body/email`. */
	fieldMessage(field: string): string | undefined {
		return fieldMessage(this.fields, field);
	}

	/** Field errors keyed by their last path segment (`body.email` → `email`). */
	get fieldMap(): Record<string, string> {
		const map: Record<string, string> = {};
		for (const f of this.fields) {
			const key = lastSegment(f.field);
			if (!(key in map)) map[key] = f.message;
		}
		return map;
	}
}

function lastSegment(path: string): string {
	const parts = path.split(/[./]/).filter(Boolean);
	return parts[parts.length - 1] ?? path;
}

export function fieldMessage(fields: readonly FieldError[], field: string): string | undefined {
	return fields.find((f) => f.field === field || lastSegment(f.field) === field)?.message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A readable default for a status code when the body says nothing useful. */
export function defaultMessage(status: number): string {
	if (status === 0) return 'Could not reach the server. Check your connection and try again.';
	if (status === 400) return 'The request was not accepted.';
	if (status === 401) return 'You are not signed in.';
	if (status === 403) return 'You are not allowed to do that.';
	if (status === 404) return 'Not found.';
	if (status === 409) return 'That conflicts with the current state.';
	if (status === 422) return 'Some fields are not valid.';
	if (status === 429) return 'Too many attempts. Please wait and try again.';
	if (status >= 500) return 'The server had a problem. Please try again.';
	return `Request failed (${status}).`;
}

function defaultCode(status: number): string {
	if (status === 0) return 'network_error';
	if (status === 401) return 'unauthenticated';
	if (status === 403) return 'forbidden';
	if (status === 404) return 'not_found';
	if (status === 409) return 'conflict';
	if (status === 422) return 'validation_error';
	if (status === 429) return 'rate_limited';
	if (status >= 500) return 'server_error';
	return 'bad_request';
}

/** `Retry-After` is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
	if (value == null || value.trim() === '') return null;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed);
	const at = Date.parse(trimmed);
	if (Number.isNaN(at)) return null;
	return Math.max(0, Math.ceil((at - now) / 1000));
}

function parseFields(raw: unknown): FieldError[] {
	if (!Array.isArray(raw)) return [];
	const out: FieldError[] = [];
	for (const item of raw) {
		if (isRecord(item) && typeof item.field === 'string' && typeof item.message === 'string') {
			out.push({ field: item.field, message: item.message });
		}
	}
	return out;
}

/** FastAPI's default validation body: `{"detail": [{"loc": [...], "msg": "..."}]}` or `{"detail": "..."}`. */
function parseFastApiDetail(detail: unknown): { message?: string; fields: FieldError[] } {
	if (typeof detail === 'string') return { message: detail, fields: [] };
	if (!Array.isArray(detail)) return { fields: [] };
	const fields: FieldError[] = [];
	for (const item of detail) {
		if (!isRecord(item) || typeof item.msg !== 'string') continue;
		const loc = Array.isArray(item.loc) ? item.loc.filter((p) => p !== 'body').map(String) : [];
		fields.push({ field: loc.join('.') || 'body', message: item.msg });
	}
	return { fields };
}

/**
 * Build an `ApiError` from a failed response.
 * @param status HTTP status (0 for a network failure)
 * @param body the parsed JSON body, or the raw text if it was not JSON
 * @param retryAfterHeader the `Retry-After` header, if any
 */
export function parseApiError(status: number, body: unknown, retryAfterHeader?: string | null): ApiError {
	const retryAfter = parseRetryAfter(retryAfterHeader);
	let code = defaultCode(status);
	let message = defaultMessage(status);
	let fields: FieldError[] = [];

	if (isRecord(body) && isRecord(body.error)) {
		const e = body.error;
		if (typeof e.code === 'string' && e.code) code = e.code;
		if (typeof e.message === 'string' && e.message) message = e.message;
		fields = parseFields(e.fields);
	} else if (isRecord(body) && 'detail' in body) {
		const parsed = parseFastApiDetail(body.detail);
		if (parsed.message) message = parsed.message;
		fields = parsed.fields;
	}
	return new ApiError(status, code, message, fields, retryAfter);
}

/** Turn anything thrown into an `ApiError` (network failures become status 0). */
export function toApiError(err: unknown): ApiError {
	if (err instanceof ApiError) return err;
	if (err instanceof DOMException && err.name === 'AbortError') {
		return new ApiError(0, 'aborted', 'The request was cancelled.');
	}
	return new ApiError(0, 'network_error', defaultMessage(0));
}

/** The text to show for an error of unknown type. */
export function errorMessage(err: unknown): string {
	return toApiError(err).message;
}
