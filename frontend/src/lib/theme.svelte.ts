import {
	THEME_STORAGE_KEY,
	parseThemePreference,
	resolveTheme,
	type ResolvedTheme,
	type ThemePreference
} from './theme';

/** Light / dark / system, persisted in localStorage and applied as `<html data-theme>`. */
class ThemeState {
	preference = $state<ThemePreference>('system');
	systemPrefersDark = $state(false);
	resolved: ResolvedTheme = $derived(resolveTheme(this.preference, this.systemPrefersDark));
	#started = false;

	/** Read the saved choice and follow the OS setting; safe to call more than once. */
	start(): void {
		if (this.#started || typeof window === 'undefined') return;
		this.#started = true;
		try {
			this.preference = parseThemePreference(localStorage.getItem(THEME_STORAGE_KEY));
		} catch {
			this.preference = 'system';
		}
		const query = window.matchMedia?.('(prefers-color-scheme: dark)');
		if (query) {
			this.systemPrefersDark = query.matches;
			query.addEventListener('change', (e) => {
				this.systemPrefersDark = e.matches;
				this.#apply();
			});
		}
		this.#apply();
	}

	set(preference: ThemePreference): void {
		this.preference = preference;
		try {
			localStorage.setItem(THEME_STORAGE_KEY, preference);
		} catch {
			// Private mode or storage disabled: the choice lasts for this page only.
		}
		this.#apply();
	}

	#apply(): void {
		if (typeof document === 'undefined') return;
		const root = document.documentElement;
		root.dataset.theme = this.resolved;
		root.dataset.themePreference = this.preference;
	}
}

export const theme = new ThemeState();
