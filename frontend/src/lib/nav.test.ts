import { describe, expect, it } from 'vitest';
import { isCurrentSection, loginUrl, safeNext } from './nav';
import { grantableRoles, roleAtLeast } from './roles';
import { initials } from './format';

describe('safeNext', () => {
	it('keeps local paths', () => {
		expect(safeNext('/settings/tokens')).toBe('/settings/tokens');
		expect(safeNext('/compose?draft=1')).toBe('/compose?draft=1');
	});
	it('rejects other origins and loops', () => {
		expect(safeNext('//evil.example')).toBe('/calendar');
		expect(safeNext('https://evil.example')).toBe('/calendar');
		expect(safeNext('/\\evil.example')).toBe('/calendar');
		expect(safeNext('/login?next=/x')).toBe('/calendar');
		expect(safeNext(null)).toBe('/calendar');
		expect(safeNext('', '/home')).toBe('/home');
	});
	it('builds login urls', () => {
		expect(loginUrl('/settings/tokens')).toBe('/login?next=%2Fsettings%2Ftokens');
		expect(loginUrl('/')).toBe('/login');
		expect(loginUrl('//evil')).toBe('/login');
	});
});

describe('isCurrentSection', () => {
	it('matches the section and its children only', () => {
		expect(isCurrentSection('/settings', '/settings/tokens')).toBe(true);
		expect(isCurrentSection('/settings', '/settings')).toBe(true);
		expect(isCurrentSection('/notes', '/notesx')).toBe(false);
	});
});

describe('roles', () => {
	it('orders owner > admin > editor > viewer', () => {
		expect(roleAtLeast('owner', 'admin')).toBe(true);
		expect(roleAtLeast('admin', 'admin')).toBe(true);
		expect(roleAtLeast('editor', 'admin')).toBe(false);
		expect(roleAtLeast('viewer', 'editor')).toBe(false);
		expect(roleAtLeast(undefined, 'viewer')).toBe(false);
		expect(roleAtLeast('root', 'viewer')).toBe(false);
	});
	it('only owners can grant owner', () => {
		expect(grantableRoles('owner')).toEqual(['owner', 'admin', 'editor', 'viewer']);
		expect(grantableRoles('admin')).toEqual(['admin', 'editor', 'viewer']);
		expect(grantableRoles('editor')).toEqual([]);
	});
});

describe('initials', () => {
	it('takes first and last initials', () => {
		expect(initials('Ada Lovelace')).toBe('AL');
		expect(initials('ada')).toBe('A');
		expect(initials('Jean Paul Sartre')).toBe('JS');
		expect(initials('  ')).toBe('?');
	});
});
