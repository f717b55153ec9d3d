"use strict";
(async () => {
  try {
    await tradd.login_required();
  } catch (error) {
    if (error.status !== 401) tradd.showError(error.message);
  }
})();
