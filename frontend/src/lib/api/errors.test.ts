import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, parseApiError, parseRetryAfter, toApiError } from './errors';

describe('parseApiError', () => {
	it('reads the API error shape', () => {
		const err = parseApiError(401, {
			error: { code: 'invalid_credentials', message: 'Email or password is wrong.' }
		});
		expect(err).toBeInstanceOf(ApiError);
		expect(err.status).toBe(401);
		expect(err.code).toBe('invalid_credentials');
		expect(err.message).toBe('Email or password is wrong.');
		expect(err.fields).toEqual([]);
	});

	it('keeps per-field messages and finds them by short or dotted name', () => {
		const err = parseApiError(422, {
			error: {
				code: 'validation_error',
				message: 'Some fields are not valid.',
				fields: [
					{ field: 'body.password', message: 'At least 10 characters.' },
					{ field: 'email', message: 'Not an email address.' },
					{ field: 42, message: 'ignored: field is not a string' }
				]
			}
		});
		expect(err.fields).toHaveLength(2);
		expect(err.fieldMessage('password')).toBe('At least 10 characters.');
		expect(err.fieldMessage('body.password')).toBe('At least 10 characters.');
		expect(err.fieldMessage('email')).toBe('Not an email address.');
		expect(err.fieldMessage('name')).toBeUndefined();
		expect(err.fieldMap).toEqual({ password: 'At least 10 characters.', email: 'Not an email address.' });
	});

	it('takes Retry-After from a 429', () => {
		const err = parseApiError(
			429,
			{ error: { code: 'rate_limited', message: 'Too many login attempts. Try again in 30 seconds.' } },
			'30'
		);
		expect(err.code).toBe('rate_limited');
		expect(err.retryAfter).toBe(30);
		expect(err.message).toContain('30 seconds');
	});

	it('understands FastAPI default validation bodies', () => {
		const err = parseApiError(422, {
			detail: [{ loc: ['body', 'email'], msg: 'field required', type: 'missing' }]
		});
		expect(err.code).toBe('validation_error');
		expect(err.fieldMessage('email')).toBe('field required');
		expect(parseApiError(404, { detail: 'Not Found' }).message).toBe('Not Found');
	});

	it('falls back to a message by status for text or empty bodies', () => {
		const bad = parseApiError(502, '<html>Bad gateway</html>');
		expect(bad.code).toBe('server_error');
		expect(bad.message).toMatch(/server had a problem/);
		expect(parseApiError(403, undefined).code).toBe('forbidden');
		expect(parseApiError(404, null).message).toBe('Not found.');
		expect(parseApiError(418, { error: 'nope' }).message).toBe('Request failed (418).');
	});

	it('ignores empty code and message strings', () => {
		const err = parseApiError(409, { error: { code: '', message: '' } });
		expect(err.code).toBe('conflict');
		expect(err.message).toBe('That conflicts with the current state.');
	});
});

describe('parseRetryAfter', () => {
	it('reads seconds and HTTP dates', () => {
		expect(parseRetryAfter('12')).toBe(12);
		expect(parseRetryAfter(null)).toBeNull();
		expect(parseRetryAfter('soon')).toBeNull();
		const now = Date.parse('2025-01-01T00:00:00Z');
		expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:00 GMT', now)).toBe(60);
	});
});

describe('toApiError', () => {
	it('passes ApiError through and turns other throws into network errors', () => {
		const original = new ApiError(400, 'x', 'y');
		expect(toApiError(original)).toBe(original);
		const net = toApiError(new TypeError('Failed to fetch'));
		expect(net.status).toBe(0);
		expect(net.code).toBe('network_error');
		expect(errorMessage(new Error('boom'))).toMatch(/Could not reach the server/);
	});
});
