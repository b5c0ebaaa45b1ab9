// The console's entry point: wires the tabs to their panels.

import { setUpAdminKey } from "./admin";
import { setUpCluster, showCluster } from "./cluster";
import { byId } from "./dom";
import { setUpHide, useLibraryCover } from "./hide";
import { setUpLibrary, showLibrary } from "./library";
import { setUpReveal } from "./reveal";
import { setUpStress } from "./stress";
import { setUpTabs } from "./tabs";

setUpAdminKey();
setUpHide();
setUpReveal();
setUpCluster();
setUpStress();
const showTab = setUpTabs(byId("tab-hide", HTMLButtonElement).parentElement!, (name) => {
  showLibrary(name === "library");
  showCluster(name === "cluster");
});
// "Use as cover" in the Library tab: the Hide tab takes the cover, and is shown.
setUpLibrary((cover) => {
  useLibraryCover(cover);
  showTab("hide");
});
