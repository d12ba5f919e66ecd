/**
 * Pointer-based drag and drop for calendar chips.
 *
 * Drop targets are plain elements with `data-drop-day="YYYY-MM-DD"` (and optionally
 * `data-drop-hour="0–23"`); the target is whatever is under the pointer when it is let go
 * (`elementFromPoint`), so it works whether or not the page scrolled during the drag
 * (which HTML5 drag and drop does not survive) and with any mouse or pen. Touch keeps
 * scrolling the page; the chip's "Move to…" menu is the alternative there and for keyboards.
 */
import type { Attachment } from 'svelte/attachments';
import { isPlainDate, type PlainDate } from './calendar-time';

export interface DropTarget {
	day: PlainDate;
	/** Set when dropped on an hour of the week view. */
	hour?: number;
}

/** A stable key for highlighting: `YYYY-MM-DD` or `YYYY-MM-DD@H`. */
export function dropKey(target: DropTarget | null): string | null {
	if (!target) return null;
	return target.hour === undefined ? target.day : `${target.day}@${target.hour}`;
}

/** Read a drop target from an element's `data-drop-day` / `data-drop-hour`. */
export function parseDropTarget(day: string | undefined, hour: string | undefined): DropTarget | null {
	if (!isPlainDate(day)) return null;
	if (hour === undefined || hour === '') return { day };
	const h = Number(hour);
	return Number.isInteger(h) && h >= 0 && h <= 23 ? { day, hour: h } : { day };
}

function targetAt(x: number, y: number): DropTarget | null {
	const element = document.elementFromPoint(x, y)?.closest<HTMLElement>('[data-drop-day]');
	return element ? parseDropTarget(element.dataset.dropDay, element.dataset.dropHour) : null;
}

export interface DragHandlers {
	start: (postId: string) => void;
	hover: (target: DropTarget | null) => void;
	drop: (postId: string, target: DropTarget) => void;
	cancel: () => void;
}

/** Pixels the pointer must travel before a press becomes a drag (a click stays a click). */
const THRESHOLD = 5;

export function pointerDrag(postId: string, handlers: DragHandlers): Attachment<HTMLElement> {
	return (element) => {
		let start: { x: number; y: number; id: number } | null = null;
		let dragging = false;

		const reset = () => {
			element.style.transform = '';
			element.style.pointerEvents = '';
			element.style.zIndex = '';
			element.style.opacity = '';
			element.classList.remove('is-dragging');
			document.documentElement.classList.remove('calendar-dragging');
		};

		const stop = () => {
			window.removeEventListener('pointermove', onMove, true);
			window.removeEventListener('pointerup', onUp, true);
			window.removeEventListener('pointercancel', onCancel, true);
			window.removeEventListener('keydown', onKey, true);
			start = null;
		};

		// After a drag the browser may still send a click to what is under the pointer.
		const swallowClick = () => {
			const swallow = (event: MouseEvent) => {
				event.preventDefault();
				event.stopPropagation();
			};
			window.addEventListener('click', swallow, { capture: true, once: true });
			setTimeout(() => window.removeEventListener('click', swallow, { capture: true }), 50);
		};

		const onMove = (event: PointerEvent) => {
			if (!start || event.pointerId !== start.id) return;
			const dx = event.clientX - start.x;
			const dy = event.clientY - start.y;
			if (!dragging) {
				if (Math.hypot(dx, dy) < THRESHOLD) return;
				dragging = true;
				element.style.pointerEvents = 'none';
				element.style.zIndex = '60';
				element.style.opacity = '0.85';
				element.classList.add('is-dragging');
				document.documentElement.classList.add('calendar-dragging');
				window.getSelection()?.removeAllRanges();
				handlers.start(postId);
			}
			element.style.transform = `translate(${dx}px, ${dy}px)`;
			handlers.hover(targetAt(event.clientX, event.clientY));
		};

		const onUp = (event: PointerEvent) => {
			if (!start || event.pointerId !== start.id) return;
			const wasDragging = dragging;
			dragging = false;
			stop();
			if (!wasDragging) return;
			reset();
			swallowClick();
			const target = targetAt(event.clientX, event.clientY);
			handlers.hover(null);
			if (target) handlers.drop(postId, target);
			else handlers.cancel();
		};

		const onCancel = () => {
			const wasDragging = dragging;
			dragging = false;
			stop();
			if (wasDragging) {
				reset();
				handlers.hover(null);
				handlers.cancel();
			}
		};

		const onKey = (event: KeyboardEvent) => {
			if (event.key === 'Escape' && dragging) {
				event.preventDefault();
				onCancel();
			}
		};

		const onDown = (event: PointerEvent) => {
			if (event.button !== 0 || event.pointerType === 'touch' || start) return;
			if (event.target instanceof Element && event.target.closest('button, input, select, textarea, form')) return;
			start = { x: event.clientX, y: event.clientY, id: event.pointerId };
			window.addEventListener('pointermove', onMove, true);
			window.addEventListener('pointerup', onUp, true);
			window.addEventListener('pointercancel', onCancel, true);
			window.addEventListener('keydown', onKey, true);
		};

		// No native drag (of the link or its text): it would cancel the pointer stream.
		const noNative = (event: DragEvent) => event.preventDefault();

		element.addEventListener('pointerdown', onDown);
		element.addEventListener('dragstart', noNative);
		return () => {
			element.removeEventListener('pointerdown', onDown);
			element.removeEventListener('dragstart', noNative);
			if (dragging) {
				reset();
				handlers.cancel();
			}
			stop();
		};
	};
}
