// The page's language (<html lang>, set by Django) for numbers and dates, and the translated
// labels of the API's enum values: the values stay as the API sends them, people read the labels.
// gettext, ngettext and interpolate are the globals of Django's JavaScript catalogue (/jsi18n/).

export const LANG = document.documentElement.lang || "en";

const fixedFormats = new Map();

export function fixed(value, digits) {
  if (!fixedFormats.has(digits)) {
    fixedFormats.set(digits, new Intl.NumberFormat(LANG, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  }
  return fixedFormats.get(digits).format(value);
}

export function dateTime(value) {
  return new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeStyle: "short" }).format(new Date(value));
}

export const FACE_STATUS = {
  predicted: pgettext("face status", "predicted"),
  accepted: pgettext("face status", "accepted"),
  edited: pgettext("face status", "edited"),
  added: pgettext("face status", "added"),
  rejected: pgettext("face status", "rejected"),
};

export const GENDER = {
  female: pgettext("gender", "female"),
  male: pgettext("gender", "male"),
  unknown: pgettext("gender", "unknown"),
};

export const REVIEW_STATUS = {
  unreviewed: gettext("Unreviewed"),
  in_review: gettext("In review"),
  reviewed: gettext("Reviewed"),
};

export const RUN_STATUS = {
  pending: pgettext("run status", "pending"),
  running: pgettext("run status", "running"),
  done: pgettext("run status", "done"),
  failed: pgettext("run status", "failed"),
  cancelled: pgettext("run status", "cancelled"),
};

export const REVISION_ACTION = {
  create: pgettext("revision", "created"),
  update: pgettext("revision", "edited"),
  accept: pgettext("revision", "accepted"),
  reject: pgettext("revision", "rejected"),
  revert: pgettext("revision", "reverted"),
};

// `interpolate(gettext(...), {...}, true)`, shorter.
export function format(text, values) {
  return interpolate(text, values, true);
}
