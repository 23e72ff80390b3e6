function share(){return false}
