/** CSRF double-submit: unsafe requests echo the readable `pw_csrf` cookie in `X-CSRF-Token`. */

export const CSRF_COOKIE = 'pw_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function isUnsafeMethod(method: string): boolean {
	return !SAFE_METHODS.has(method.toUpperCase());
}

/** Read one cookie from a `document.cookie` style string; `null` when missing. */
export function readCookie(cookieString: string, name: string): string | null {
	for (const part of cookieString.split(';')) {
		const eq = part.indexOf('=');
		if (eq < 0) continue;
		const key = part.slice(0, eq).trim();
		if (key !== name) continue;
		let value = part.slice(eq + 1).trim();
		if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
		try {
			return decodeURIComponent(value);
		} catch {
			return value;
		}
	}
	return null;
}

/** Add the CSRF header to `headers` when the method needs it and the cookie is present. */
export function applyCsrf(method: string, headers: Headers, cookieString: string): void {
	if (!isUnsafeMethod(method)) return;
	if (headers.has('Authorization')) return;
	const token = readCookie(cookieString, CSRF_COOKIE);
	if (token) headers.set(CSRF_HEADER, token);
}
