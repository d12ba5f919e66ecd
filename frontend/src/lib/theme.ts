export type ThemePreference = 'light' | 'dark' | 'system';
export type ResolvedTheme = 'light' | 'dark';

export const THEME_STORAGE_KEY = 'pw-theme';
export const THEME_PREFERENCES: readonly ThemePreference[] = ['light', 'dark', 'system'];

/** Whatever was stored (or nothing) → a valid preference; defaults to `system`. */
export function parseThemePreference(raw: string | null | undefined): ThemePreference {
	return raw === 'light' || raw === 'dark' || raw === 'system' ? raw : 'system';
}

export function resolveTheme(preference: ThemePreference, systemPrefersDark: boolean): ResolvedTheme {
	if (preference === 'system') return systemPrefersDark ? 'dark' : 'light';
	return preference;
}

export function themeLabel(preference: ThemePreference): string {
	return preference === 'light' ? 'Light' : preference === 'dark' ? 'Dark' : 'System';
}
