import { api, call } from './api/client';
import type { Me, Workspace } from './api/types';

/** The signed-in person and their workspaces, shared by the app shell and its pages. */
class Session {
	me = $state<Me | null>(null);

	user = $derived(this.me?.user ?? null);
	workspaces: Workspace[] = $derived(this.me?.workspaces ?? []);
	currentWorkspace: Workspace | null = $derived(
		this.workspaces.find((w) => w.id === this.me?.current_workspace_id) ?? this.workspaces[0] ?? null
	);

	set(me: Me | null): void {
		this.me = me;
	}

	/** `GET /me`; throws `ApiError` (401 when signed out). */
	async load(): Promise<Me> {
		const me = await call(api.GET('/api/v1/me'), { allowUnauthenticated: true });
		this.me = me;
		return me;
	}

	async switchWorkspace(workspaceId: string): Promise<void> {
		this.me = await call(api.PATCH('/api/v1/me', { body: { current_workspace_id: workspaceId } }));
	}

	async createWorkspace(name: string): Promise<Workspace> {
		const workspace = await call(api.POST('/api/v1/workspaces', { body: { name } }));
		await this.switchWorkspace(workspace.id);
		return workspace;
	}

	async rename(name: string): Promise<void> {
		this.me = await call(api.PATCH('/api/v1/me', { body: { name } }));
	}

	/** Replace one workspace in the cached list (after a rename). */
	updateWorkspace(workspace: Workspace): void {
		if (!this.me) return;
		this.me = {
			...this.me,
			workspaces: this.me.workspaces.map((w) => (w.id === workspace.id ? { ...w, ...workspace } : w))
		};
	}

	async logout(): Promise<void> {
		try {
			await call(api.POST('/api/v1/auth/logout'), { allowUnauthenticated: true });
		} finally {
			this.me = null;
		}
	}
}

export const session = new Session();
