/**
 * README.md, "HTTP": the session in each HTTP flavour. Type-checked by `npm run check`.
 */
// #region flavours
import { HttpApiBuilder, HttpLayerRouter } from "@effect/platform"
import { Layer } from "effect"
import { HttpSession } from "effect-session"
import { Api, groups, router, routes } from "./my-app.js" // your app's router, routes, API and groups

// HttpRouter / HttpApp: on the router (or HttpServer.serve(router, HttpSession.middleware): it then
// ends the unit and sets its cookie just before the response is written)
export const app = router.pipe(HttpSession.middleware)
// HttpLayerRouter: a global middleware layer
export const server = HttpLayerRouter.serve(routes.pipe(Layer.provide(HttpSession.layerRouter)))
// HttpApi: groups declare .middleware(HttpSession.ApiSession), nothing else (failIfExpired, manual units included)
export const api = HttpApiBuilder.api(Api).pipe(Layer.provide(groups), Layer.provide(HttpSession.layerApi))
// #endregion flavours
