import { describe, expect, it } from 'vitest';
import { applyCsrf, isUnsafeMethod, readCookie } from './csrf';

describe('readCookie', () => {
	it('finds a cookie among others', () => {
		expect(readCookie('a=1; pw_csrf=abc123; b=2', 'pw_csrf')).toBe('abc123');
		expect(readCookie('pw_csrf=first', 'pw_csrf')).toBe('first');
	});
	it('does not match on a name prefix or suffix', () => {
		expect(readCookie('xpw_csrf=no; pw_csrf_old=no', 'pw_csrf')).toBeNull();
	});
	it('returns null when missing or empty string', () => {
		expect(readCookie('', 'pw_csrf')).toBeNull();
		expect(readCookie('other=1', 'pw_csrf')).toBeNull();
	});
	it('decodes values and strips quotes, keeping = inside values', () => {
		expect(readCookie('pw_csrf=a%2Fb%3D', 'pw_csrf')).toBe('a/b=');
		expect(readCookie('pw_csrf="quoted"', 'pw_csrf')).toBe('quoted');
		expect(readCookie('pw_csrf=abc==', 'pw_csrf')).toBe('abc==');
		expect(readCookie('pw_csrf=%E0%A4%A', 'pw_csrf')).toBe('%E0%A4%A');
	});
});

describe('isUnsafeMethod', () => {
	it('treats POST/PUT/PATCH/DELETE as unsafe', () => {
		for (const m of ['POST', 'put', 'PATCH', 'DELETE']) expect(isUnsafeMethod(m)).toBe(true);
		for (const m of ['GET', 'head', 'OPTIONS']) expect(isUnsafeMethod(m)).toBe(false);
	});
});

describe('applyCsrf', () => {
	it('sets the header on unsafe methods only', () => {
		const post = new Headers();
		applyCsrf('POST', post, 'pw_csrf=tok');
		expect(post.get('X-CSRF-Token')).toBe('tok');
		const get = new Headers();
		applyCsrf('GET', get, 'pw_csrf=tok');
		expect(get.has('X-CSRF-Token')).toBe(false);
	});
	it('skips without a cookie or with a bearer token', () => {
		const none = new Headers();
		applyCsrf('DELETE', none, '');
		expect(none.has('X-CSRF-Token')).toBe(false);
		const bearer = new Headers({ Authorization: 'Bearer pw_x' });
		applyCsrf('DELETE', bearer, 'pw_csrf=tok');
		expect(bearer.has('X-CSRF-Token')).toBe(false);
	});
});
