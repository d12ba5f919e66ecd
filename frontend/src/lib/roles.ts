export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
export type RoleName = (typeof ROLES)[number];

const RANK: Record<RoleName, number> = { owner: 4, admin: 3, editor: 2, viewer: 1 };

function rank(role: string): number {
	return (RANK as Record<string, number>)[role] ?? 0;
}

/** `owner` > `admin` > `editor` > `viewer`; unknown roles rank below all. */
export function roleAtLeast(role: string | null | undefined, minimum: RoleName): boolean {
	return role != null && rank(role) >= rank(minimum);
}

/** Roles someone with `role` may hand out in an invitation (only an owner grants owner). */
export function grantableRoles(role: string | null | undefined): RoleName[] {
	if (!roleAtLeast(role, 'admin')) return [];
	return ROLES.filter((r) => r !== 'owner' || role === 'owner');
}

export function roleLabel(role: string): string {
	return role.charAt(0).toUpperCase() + role.slice(1);
}
