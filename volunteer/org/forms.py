"""Forms that grid leaders and village admins use on their own grids."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from volunteer.validators import NoMarkup, finite, strip


class GridForm(FlaskForm):
    name = StringField(_l("Grid name"), filters=[strip], validators=[
        DataRequired(_l("Please enter a name.")), Length(max=100), NoMarkup()])
    households = IntegerField(_l("Households"), validators=[
        InputRequired(_l("Please enter a whole number.")),
        NumberRange(0, 100000, _l("Between 0 and 100,000."))])
    lat = FloatField(_l("Latitude (centroid)"), validators=[
        InputRequired(_l("Please enter a latitude.")), finite,
        NumberRange(-90, 90, _l("Latitude must be between -90 and 90."))])
    lon = FloatField(_l("Longitude (centroid)"), validators=[
        InputRequired(_l("Please enter a longitude.")), finite,
        NumberRange(-180, 180, _l("Longitude must be between -180 and 180."))])
    submit = SubmitField(_l("Save"))
