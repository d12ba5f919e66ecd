import { describe, expect, it } from 'vitest';
import { parseThemePreference, resolveTheme, themeLabel } from './theme';

describe('theme', () => {
	it('parses stored preferences, defaulting to system', () => {
		expect(parseThemePreference('dark')).toBe('dark');
		expect(parseThemePreference('light')).toBe('light');
		expect(parseThemePreference('system')).toBe('system');
		expect(parseThemePreference(null)).toBe('system');
		expect(parseThemePreference('DARK')).toBe('system');
		expect(parseThemePreference('purple')).toBe('system');
	});
	it('resolves system from the media query and keeps explicit choices', () => {
		expect(resolveTheme('system', true)).toBe('dark');
		expect(resolveTheme('system', false)).toBe('light');
		expect(resolveTheme('light', true)).toBe('light');
		expect(resolveTheme('dark', false)).toBe('dark');
	});
	it('labels', () => {
		expect(themeLabel('system')).toBe('System');
		expect(themeLabel('dark')).toBe('Dark');
	});
});
