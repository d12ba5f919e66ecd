import { redirect } from '@sveltejs/kit';

// There is no list of all posts yet (the calendar shows them); the inbox is the useful page here.
export function load(): never {
	redirect(307, '/posts/approvals');
}
