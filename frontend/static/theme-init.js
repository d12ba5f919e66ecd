// Runs before first paint (loaded synchronously from app.html) so a saved
// light/dark choice does not flash. The app takes over in src/lib/theme.svelte.ts.
(function () {
	try {
		var pref = localStorage.getItem('pw-theme');
		var dark = pref === 'dark' || (pref !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
		document.documentElement.dataset.theme = dark ? 'dark' : 'light';
	} catch (e) {
		/* storage disabled: follow the system via CSS */
	}
})();
