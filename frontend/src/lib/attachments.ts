import type { Attachment } from 'svelte/attachments';

/** Call `handler` on a pointer press outside the element or on Escape (for menus). */
export function dismissable(handler: () => void): Attachment<HTMLElement> {
	return (element) => {
		const onPointer = (event: PointerEvent) => {
			if (event.target instanceof Node && !element.contains(event.target)) handler();
		};
		const onKey = (event: KeyboardEvent) => {
			if (event.key === 'Escape') handler();
		};
		document.addEventListener('pointerdown', onPointer, true);
		document.addEventListener('keydown', onKey);
		return () => {
			document.removeEventListener('pointerdown', onPointer, true);
			document.removeEventListener('keydown', onKey);
		};
	};
}
