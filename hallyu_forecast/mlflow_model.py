"""MLflow "models from code" definition of the hallyu_forecast pyfunc model.

:func:`hallyu_forecast.tracking.log_model` logs this file as the model's code
(``mlflow.pyfunc.log_model(python_model=<this file>, artifacts={"bundle": folder})``): MLflow
stores the source, not a CloudPickle of an object, and the fitted model is the bundle folder
(LightGBM text boosters + JSON, checksummed; see :mod:`hallyu_forecast.bundle`). Loading the
model runs this file and then :meth:`HallyuModel.load_context`, which reads the bundle without
unpickling anything.

``predict`` takes *panel rows* (``iso3``, ``year`` and any panel columns) and does the
feature building itself; params ``horizon`` (1-3 or a list) and ``origin`` (a year).
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc

from hallyu_forecast.bundle import load_bundle
from hallyu_forecast.inference import predict_rows
from hallyu_forecast.tracking import quiet

# Without type hints MLflow warns when the class is defined (every load); the input is panel
# rows of any columns, validated by the signature logged with the model instead.
with quiet():

    class HallyuModel(mlflow.pyfunc.PythonModel):
        """MLflow pyfunc: panel rows in, forecasts out (feature building included)."""

        def load_context(self, context):

            self.bundle = load_bundle(context.artifacts["bundle"])

        def predict(self, context, model_input, params=None):

            return predict_rows(self.bundle, model_input, params)


mlflow.models.set_model(HallyuModel())
