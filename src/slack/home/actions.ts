/**
 * `action_id`s of the Home tab's buttons and of the modals opened from it. Every handler reads
 * state from the database; a button's value only names what it acts on.
 */
export const HOME_ACTIONS = {
  /** Opens the activation modal with the role chosen; value: role slug. */
  activate: 'home_activate',
  /** Ends the viewer's activation of a role; value: role slug. */
  deactivate: 'home_deactivate',
  /** Opens the whole list of one Home section in a paged modal; value: `HomeListValue` JSON. */
  showMore: 'home_show_more',
  /** Opens a role's page (holders and administration); value: role id. */
  openRole: 'admin_open_role',
  /** Opens the paged role table; value: page number. */
  rolesPage: 'admin_roles_page',
  createRole: 'admin_create_role',
  setupWizard: 'admin_setup_wizard',
  importManagers: 'admin_import_managers',
} as const;

/** Home sections whose whole list opens in a modal. */
export type HomeListKind = 'active' | 'eligible' | 'pending' | 'approvals' | 'deactivated';

/** Value of a "show more" button or a list modal's page button. */
export interface HomeListValue {
  kind: HomeListKind;
  page: number;
}
