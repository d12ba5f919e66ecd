/** Only follow `?next=` to a path on this site (never `//evil.example` or `https://…`). */
export function safeNext(raw: string | null | undefined, fallback = '/calendar'): string {
	if (!raw) return fallback;
	if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
	if (/[\u0000-\u001f]/.test(raw)) return fallback;
	if (raw === '/login' || raw.startsWith('/login?') || raw === '/setup' || raw.startsWith('/setup?')) return fallback;
	return raw;
}

/** `/login?next=…` for the page someone was on. */
export function loginUrl(currentPath: string | null | undefined): string {
	const next = safeNext(currentPath, '');
	return next && next !== '/' ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

export const APP_SECTIONS = [
	{ href: '/calendar', label: 'Calendar' },
	{ href: '/compose', label: 'Compose' },
	{ href: '/posts/approvals', label: 'Approvals' },
	{ href: '/analytics', label: 'Analytics' },
	{ href: '/growth', label: 'Growth' },
	{ href: '/notes', label: 'Notes' },
	{ href: '/accounts', label: 'Accounts' },
	{ href: '/publishing', label: 'Publishing' },
	{ href: '/settings', label: 'Settings' }
] as const;

/** Is the nav item for `href` the current one for `pathname`? */
export function isCurrentSection(href: string, pathname: string): boolean {
	return pathname === href || pathname.startsWith(href + '/');
}
